//! `GET /api/v1/events`: the organization's change feed over REST — the JSON shape of an event,
//! cursor paging, the type filter, isolation between organizations, ADMIN+ only.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use operant_testkit::rest::{Api, expect_error, expect_json};
use operant_testkit::{TestApp, User};
use reqwest::Method;
use serde_json::{Value, json};

async fn events(api: &Api, user: &User, org: &str, query: &str) -> Value {
    let r =
        api.in_org(Method::GET, &format!("/api/v1/events{query}"), &user.access, org).send().await.unwrap();
    expect_json(r, 200).await
}

/// The feed after `after` once it holds `n` events.
async fn wait_for(api: &Api, user: &User, org: &str, after: &str, n: usize) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let page = events(api, user, org, &format!("?limit=100&after={after}")).await;
        if page["items"].as_array().unwrap().len() >= n || tokio::time::Instant::now() > deadline {
            return page;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn types(page: &Value) -> Vec<String> {
    page["items"].as_array().unwrap().iter().map(|e| e["type"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_feed_over_rest() {
    let app = TestApp::spawn().await;
    let api = app.api();
    let (owner, admin, member, outsider) = (
        api.user("owner").await,
        api.user("admin").await,
        api.user("member").await,
        api.user("outsider").await,
    );
    let org = api.create_org(&owner, &format!("feed-{}", &owner.id[..8])).await;
    api.join(&org, &owner, &admin, "ADMIN").await;
    api.join(&org, &owner, &member, "MEMBER").await;
    let other = api.create_org(&outsider, &format!("other-{}", &outsider.id[..8])).await;
    // Tenancy's events of the setup come first: the creation, then each join.
    app.events_relayed().await;
    let setup = events(&api, &owner, &org, "?limit=100").await;
    let joined = ["invitation.created", "invitation.accepted", "member.added"];
    let expected: Vec<&str> =
        ["organization.created", "member.added"].into_iter().chain(joined).chain(joined).collect();
    assert_eq!(types(&setup), expected);
    assert_eq!(setup["items"][0]["data"]["id"], org.as_str());
    assert_eq!(setup["items"][7]["data"]["user_id"], member.id.as_str());
    let since = setup["next_cursor"].as_str().unwrap().to_owned();
    let their_since =
        events(&api, &outsider, &other, "?limit=100").await["next_cursor"].as_str().unwrap().to_owned();
    api.create_project(&outsider, &other, "Theirs").await;

    let project = api.create_project(&owner, &org, "Launch").await;
    let body = json!({"title": "Ship", "project_id": project});
    let task = api.call(Method::POST, "/api/v1/tasks", &member, Some(&org), Some(body), 201).await;
    let body = json!({"status": "DONE"});
    let path = format!("/api/v1/tasks/{}", task["id"].as_str().unwrap());
    api.call(Method::PATCH, &path, &member, Some(&org), Some(body), 200).await;

    let all = wait_for(&api, &admin, &org, &since, 3).await;
    assert_eq!(types(&all), ["project.created", "task.created", "task.updated"]);
    assert_eq!(all["has_more"], false);
    let created = &all["items"][0];
    assert_eq!(created["organization_id"], org.as_str());
    assert_eq!(created["actor"], json!({"type": "USER", "id": owner.id}));
    assert_eq!(created["data"]["id"], project.as_str());
    assert_eq!(created["data"]["name"], "Launch");
    assert!(created["id"].as_str().unwrap().parse::<uuid::Uuid>().unwrap().get_version_num() == 7);
    assert!(created["occurred_at"].as_str().unwrap().ends_with('Z'), "{created}");
    let updated = &all["items"][2];
    assert_eq!(updated["data"]["status"], "DONE");
    assert_eq!(updated["changed_fields"], json!(["status"]));
    assert_eq!(updated["actor"]["id"], member.id.as_str());

    // Cursor paging: one at a time, then nothing, and the cursor stays put.
    let first = events(&api, &owner, &org, &format!("?after={since}&limit=1")).await;
    assert_eq!(types(&first), ["project.created"]);
    assert_eq!(first["has_more"], true);
    let cursor = first["next_cursor"].as_str().unwrap().to_owned();
    let rest = events(&api, &owner, &org, &format!("?after={cursor}&limit=100")).await;
    assert_eq!(types(&rest), ["task.created", "task.updated"]);
    let end = rest["next_cursor"].as_str().unwrap().to_owned();
    let none = events(&api, &owner, &org, &format!("?after={end}")).await;
    assert_eq!(none["items"], json!([]));
    assert_eq!(none["next_cursor"], end.as_str());

    // The type filter, repeated or comma-separated.
    let tasks = events(&api, &owner, &org, "?type=task.created&type=task.updated").await;
    assert_eq!(types(&tasks), ["task.created", "task.updated"]);
    let comma = events(&api, &owner, &org, "?type=project.created,task.updated").await;
    assert_eq!(types(&comma), ["project.created", "task.updated"]);

    // Isolation: the other organization sees only its own.
    let theirs = wait_for(&api, &outsider, &other, &their_since, 1).await;
    assert_eq!(types(&theirs), ["project.created"]);
    assert_eq!(theirs["items"][0]["data"]["name"], "Theirs");

    // ADMIN+ only; outsiders are not members; bad parameters are 422.
    let as_member = api.in_org(Method::GET, "/api/v1/events", &member.access, &org).send().await.unwrap();
    expect_error(as_member, 403, "INSUFFICIENT_ROLE").await;
    let as_outsider = api.in_org(Method::GET, "/api/v1/events", &outsider.access, &org).send().await.unwrap();
    expect_error(as_outsider, 403, "NOT_A_MEMBER").await;
    for query in ["?after=", "?after=abc", "?type=", "?type=Task", "?limit=0", "?limit=101"] {
        let r = api
            .in_org(Method::GET, &format!("/api/v1/events{query}"), &owner.access, &org)
            .send()
            .await
            .unwrap();
        expect_error(r, 422, "VALIDATION_ERROR").await;
    }
    app.shutdown().await;
}
