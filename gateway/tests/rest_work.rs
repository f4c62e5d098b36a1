//! Organizations, members, projects and tasks through REST against the running suite, including
//! the `ETag`/`If-Match` contract, filters, the paging envelope and tenant isolation.

use operant_testkit::TestApp;
use operant_testkit::rest::expect_error;
use operant_testkit::rest::{Api, access, expect_empty, expect_json};
use reqwest::Method;
use serde_json::{Value, json};

fn etag(response: &reqwest::Response) -> String {
    response.headers().get("etag").and_then(|v| v.to_str().ok()).expect("ETag").to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn organizations_and_members() {
    let app = TestApp::spawn().await;
    let api = app.api();
    let (_, owner) = api.signup("owner@example.com", "Owner").await;
    let (bob, bob_tokens) = api.signup("bob@example.com", "Bob").await;
    let token = access(&owner);

    let r = api
        .authed(Method::POST, "/api/v1/organizations", &token)
        .json(&json!({"name": "Acme", "slug": "acme"}))
        .send()
        .await
        .expect("create org");
    let org = expect_json(r, 201).await;
    assert_eq!(org["role"], "OWNER");
    assert_eq!(org["plan"], "FREE");
    let org_id = org["id"].as_str().expect("id").to_owned();

    let r = api
        .authed(Method::POST, "/api/v1/organizations", &token)
        .json(&json!({"name": "Acme 2", "slug": "acme"}))
        .send()
        .await
        .expect("dup slug");
    expect_error(r, 409, "SLUG_TAKEN").await;

    let list = expect_json(
        api.authed(Method::GET, "/api/v1/organizations?limit=5", &token).send().await.expect("list"),
        200,
    )
    .await;
    assert_eq!(list["total"], 1);
    assert_eq!(list["limit"], 5);
    assert_eq!(list["skip"], 0);
    assert_eq!(list["items"][0]["slug"], "acme");

    // The deprecated members route invites, and answers alike for a registered address and an
    // unregistered one (it no longer tells which).
    let r = api
        .authed(Method::POST, &format!("/api/v1/organizations/{org_id}/members"), &token)
        .json(&json!({"email": "bob@example.com", "role": "MEMBER"}))
        .send()
        .await
        .expect("add member");
    let invited = expect_json(r, 201).await;
    assert_eq!((&invited["role"], &invited["status"]), (&json!("MEMBER"), &json!("PENDING")));
    let r = api
        .authed(Method::POST, &format!("/api/v1/organizations/{org_id}/members"), &token)
        .json(&json!({"email": "nobody@example.com", "role": "MEMBER"}))
        .send()
        .await
        .expect("add unknown");
    let unknown = expect_json(r, 201).await;
    let keys = |v: &Value| v.as_object().expect("object").keys().cloned().collect::<Vec<_>>();
    assert_eq!(keys(&invited), keys(&unknown));
    assert_eq!(unknown["status"], "PENDING");
    // Bob accepts with the mailed token.
    let token_of_bob = operant_testkit::token_of(
        app.mailbox().wait_for("bob@example.com", 1).await.link.as_deref().expect("link"),
    );
    let r = api
        .authed(Method::POST, "/api/v1/invitations/accept", &access(&bob_tokens))
        .json(&json!({"token": token_of_bob}))
        .send()
        .await
        .expect("accept");
    let joined = expect_json(r, 200).await;
    assert_eq!(joined["member"]["role"], "MEMBER");
    assert_eq!(joined["member"]["user_id"], bob["id"]);

    let members = expect_json(
        api.authed(Method::GET, &format!("/api/v1/organizations/{org_id}/members"), &token)
            .send()
            .await
            .expect("members"),
        200,
    )
    .await;
    assert_eq!(members["total"], 2);

    let users = expect_json(
        api.in_org(Method::GET, "/api/v1/users", &token, &org_id).send().await.expect("users"),
        200,
    )
    .await;
    assert_eq!(users["total"], 2);

    let sub = expect_json(
        api.authed(Method::GET, &format!("/api/v1/organizations/{org_id}/subscription"), &token)
            .send()
            .await
            .expect("subscription"),
        200,
    )
    .await;
    assert_eq!(sub["plan"], "FREE");
    assert!(sub["limits"]["max_users"].as_i64().is_some());

    // A MEMBER cannot rename the organization; the OWNER can (PATCH keeps the slug).
    let r = api
        .authed(Method::PATCH, &format!("/api/v1/organizations/{org_id}"), &access(&bob_tokens))
        .json(&json!({"name": "Hijacked"}))
        .send()
        .await
        .expect("member rename");
    assert_eq!(r.status(), 403);
    let r = api
        .authed(Method::PATCH, &format!("/api/v1/organizations/{org_id}"), &token)
        .json(&json!({"name": "Acme Inc."}))
        .send()
        .await
        .expect("rename");
    let renamed = expect_json(r, 200).await;
    assert_eq!(renamed["name"], "Acme Inc.");
    assert_eq!(renamed["slug"], "acme");

    let r = api
        .authed(
            Method::PATCH,
            &format!("/api/v1/organizations/{org_id}/members/{}", bob["id"].as_str().expect("id")),
            &token,
        )
        .json(&json!({"role": "ADMIN"}))
        .send()
        .await
        .expect("promote");
    assert_eq!(expect_json(r, 200).await["role"], "ADMIN");

    let r = api
        .authed(
            Method::DELETE,
            &format!("/api/v1/organizations/{org_id}/members/{}", bob["id"].as_str().expect("id")),
            &token,
        )
        .send()
        .await
        .expect("remove");
    expect_empty(r, 204).await;
    app.shutdown().await;
}

async fn org_with_owner(api: &Api, email: &str, slug: &str) -> (String, String) {
    let (_, tokens) = api.signup(email, "Owner").await;
    let token = access(&tokens);
    let r = api
        .authed(Method::POST, "/api/v1/organizations", &token)
        .json(&json!({"name": slug, "slug": slug}))
        .send()
        .await
        .expect("create org");
    let org = expect_json(r, 201).await;
    (token, org["id"].as_str().expect("id").to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn projects_and_tasks_crud_with_etags() {
    let app = TestApp::spawn().await;
    let api = app.api();
    let (token, org) = org_with_owner(&api, "pm@example.com", "pm-org").await;

    // The tenant header is required.
    let r = api.authed(Method::GET, "/api/v1/projects", &token).send().await.expect("no org");
    expect_error(r, 400, "ORGANIZATION_REQUIRED").await;

    let r = api
        .in_org(Method::POST, "/api/v1/projects", &token, &org)
        .json(&json!({"name": "Apollo", "description": "to the moon"}))
        .send()
        .await
        .expect("create project");
    let created_etag = etag(&r);
    let project = expect_json(r, 201).await;
    assert_eq!(created_etag, format!("\"{}\"", project["version"]));
    let pid = project["id"].as_str().expect("id").to_owned();

    let r =
        api.in_org(Method::GET, &format!("/api/v1/projects/{pid}"), &token, &org).send().await.expect("get");
    assert_eq!(etag(&r), created_etag);
    expect_json(r, 200).await;

    // A change with the current version succeeds and moves the ETag; the stale one then fails.
    let r = api
        .in_org(Method::PATCH, &format!("/api/v1/projects/{pid}"), &token, &org)
        .header("if-match", &created_etag)
        .json(&json!({"description": null}))
        .send()
        .await
        .expect("patch");
    let new_etag = etag(&r);
    assert_ne!(new_etag, created_etag);
    let patched = expect_json(r, 200).await;
    assert_eq!(patched["name"], "Apollo", "left out: unchanged");
    assert_eq!(patched["description"], Value::Null, "null: cleared");
    let r = api
        .in_org(Method::PUT, &format!("/api/v1/projects/{pid}"), &token, &org)
        .header("if-match", &created_etag)
        .json(&json!({"name": "Gemini"}))
        .send()
        .await
        .expect("stale put");
    expect_error(r, 412, "VERSION_MISMATCH").await;

    // Tasks: project_id in the query, a plain date, enums by name.
    let r = api
        .in_org(Method::POST, &format!("/api/v1/tasks?project_id={pid}"), &token, &org)
        .json(&json!({"title": "Build rocket", "priority": "URGENT", "due_date": "2030-12-31"}))
        .send()
        .await
        .expect("create task");
    let task = expect_json(r, 201).await;
    assert_eq!(task["status"], "TODO");
    assert_eq!(task["priority"], "URGENT");
    assert!(task["due_date"].as_str().is_some_and(|d| d.starts_with("2030-12-31T00:00:00")), "{task}");
    let tid = task["id"].as_str().expect("id").to_owned();
    let r = api
        .in_org(Method::POST, "/api/v1/tasks", &token, &org)
        .json(&json!({"project_id": pid, "title": "Fuel", "status": "IN_PROGRESS"}))
        .send()
        .await
        .expect("create task 2");
    expect_json(r, 201).await;

    let list = expect_json(
        api.in_org(
            Method::GET,
            &format!("/api/v1/tasks?project_id={pid}&status=TODO,DONE&order_by=-created_at"),
            &token,
            &org,
        )
        .send()
        .await
        .expect("list"),
        200,
    )
    .await;
    assert_eq!(list["total"], 1, "{list}");
    assert_eq!(list["items"][0]["id"], tid.as_str());
    let list = expect_json(
        api.in_org(Method::GET, "/api/v1/tasks?status=TODO&status=IN_PROGRESS&limit=1", &token, &org)
            .send()
            .await
            .expect("list"),
        200,
    )
    .await;
    assert_eq!(list["total"], 2);
    assert_eq!(list["items"].as_array().map(Vec::len), Some(1));
    let r = api
        .in_org(Method::GET, "/api/v1/tasks?order_by=colour", &token, &org)
        .send()
        .await
        .expect("bad sort");
    let body = expect_error(r, 422, "VALIDATION_ERROR").await;
    assert!(
        body["detail"].as_str().unwrap_or("").contains("order_by")
            || operant_testkit::rest::violated_field(&body).contains("order_by"),
        "{body}"
    );

    let r = api
        .in_org(Method::GET, &format!("/api/v1/tasks/{tid}"), &token, &org)
        .send()
        .await
        .expect("get task");
    let task_etag = etag(&r);
    let r = api
        .in_org(Method::PATCH, &format!("/api/v1/tasks/{tid}"), &token, &org)
        .header("if-match", &task_etag)
        .json(&json!({"status": "DONE", "due_date": null}))
        .send()
        .await
        .expect("patch task");
    let done = expect_json(r, 200).await;
    assert_eq!(done["status"], "DONE");
    assert_eq!(done["due_date"], Value::Null);
    assert_eq!(done["title"], "Build rocket");

    let r = api
        .in_org(Method::DELETE, &format!("/api/v1/tasks/{tid}"), &token, &org)
        .header("if-match", &task_etag)
        .send()
        .await
        .expect("stale delete");
    expect_error(r, 412, "VERSION_MISMATCH").await;
    let r = api
        .in_org(Method::DELETE, &format!("/api/v1/tasks/{tid}"), &token, &org)
        .send()
        .await
        .expect("delete");
    expect_empty(r, 204).await;
    let r =
        api.in_org(Method::GET, &format!("/api/v1/tasks/{tid}"), &token, &org).send().await.expect("gone");
    expect_error(r, 404, "TASK_NOT_FOUND").await;

    // Another organization's owner sees nothing of this one.
    let (other_token, other_org) = org_with_owner(&api, "other@example.com", "other-org").await;
    let r = api
        .in_org(Method::GET, &format!("/api/v1/projects/{pid}"), &other_token, &other_org)
        .send()
        .await
        .expect("x");
    expect_error(r, 404, "PROJECT_NOT_FOUND").await;
    let r = api.in_org(Method::GET, "/api/v1/projects", &other_token, &org).send().await.expect("x");
    expect_error(r, 403, "NOT_A_MEMBER").await;

    let r = api
        .in_org(Method::DELETE, &format!("/api/v1/projects/{pid}"), &token, &org)
        .send()
        .await
        .expect("delete");
    expect_empty(r, 204).await;
    let page = expect_json(
        api.in_org(Method::GET, "/api/v1/projects", &token, &org).send().await.expect("list"),
        200,
    )
    .await;
    assert_eq!(page["total"], 0);
    assert_eq!(page["limit"], 20);
    app.shutdown().await;
}

/// Cursor paging over REST: `page_token` in the query, `next_page_token` in the envelope (null
/// on the last page), a forged or mismatched token 400 `INVALID_PAGE_TOKEN` in the error body.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tasks_by_cursor_over_rest() {
    let app = TestApp::spawn().await;
    let api = app.api();
    let (token, org) = org_with_owner(&api, "cursor@example.com", "cursor-org").await;
    let r = api
        .in_org(Method::POST, "/api/v1/projects", &token, &org)
        .json(&json!({"name": "Paged"}))
        .send()
        .await
        .expect("create project");
    let pid = expect_json(r, 201).await["id"].as_str().expect("id").to_owned();
    for i in 0..5 {
        let r = api
            .in_org(Method::POST, "/api/v1/tasks", &token, &org)
            .json(&json!({"project_id": pid, "title": format!("t{i}")}))
            .send()
            .await
            .expect("create task");
        expect_json(r, 201).await;
    }
    let list = |query: String| {
        let (api, token, org, pid) = (&api, &token, &org, &pid);
        async move {
            api.in_org(Method::GET, &format!("/api/v1/tasks?project_id={pid}&{query}"), token, org)
                .send()
                .await
                .expect("list")
        }
    };
    let mut titles = Vec::new();
    let mut next: Option<String> = None;
    loop {
        let query = match &next {
            Some(t) => format!("limit=2&order_by=title&page_token={t}"),
            None => "limit=2&order_by=title".to_owned(),
        };
        let page = expect_json(list(query).await, 200).await;
        assert_eq!(page["total"], 5, "{page}");
        for item in page["items"].as_array().expect("items") {
            titles.push(item["title"].as_str().expect("title").to_owned());
        }
        match page["next_page_token"].as_str() {
            Some(t) => next = Some(t.to_owned()),
            None => {
                assert!(page["next_page_token"].is_null(), "{page}");
                break;
            }
        }
    }
    assert_eq!(titles, ["t0", "t1", "t2", "t3", "t4"]);

    let first = expect_json(list("limit=2&order_by=title".into()).await, 200).await;
    let t = first["next_page_token"].as_str().expect("a next page").to_owned();
    let body = expect_error(
        list(format!("limit=2&order_by=-title&page_token={t}")).await,
        400,
        "INVALID_PAGE_TOKEN",
    )
    .await;
    assert_eq!(body["status_code"], 400);
    expect_error(
        list(format!("limit=2&order_by=title&status=DONE&page_token={t}")).await,
        400,
        "INVALID_PAGE_TOKEN",
    )
    .await;
    expect_error(list("page_token=forged".into()).await, 400, "INVALID_PAGE_TOKEN").await;
    expect_error(list(format!("skip=2&order_by=title&page_token={t}")).await, 422, "VALIDATION_ERROR").await;
    app.shutdown().await;
}
