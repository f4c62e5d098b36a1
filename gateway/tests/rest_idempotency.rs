//! Safe retries through REST: `Idempotency-Key` on every POST that creates or changes
//! something. A retry with the same key and request gets the first answer again with
//! `Idempotent-Replayed: true` and changes nothing; another request with the key is 422; one
//! still running is 409 with `Retry-After: 1`; keys are the caller's; a limit slot is used once;
//! an answer lost after the commit is recovered by the retry; expired keys are purged.

use std::time::Duration;

use operant_testkit::proxy::LosingProxy;
use operant_testkit::rest::{Api, expect_error, expect_json};
use operant_testkit::{Svc, TestApp, User, eventually};
use reqwest::{Method, Response};
use serde_json::{Value, json};

fn replayed(response: &Response) -> bool {
    match response.headers().get("idempotent-replayed") {
        None => false,
        Some(v) => {
            assert_eq!(v, "true");
            true
        }
    }
}

async fn post(api: &Api, path: &str, user: &User, org: Option<&str>, key: &str, body: Value) -> Response {
    let mut rb = api.authed(Method::POST, path, &user.access).header("idempotency-key", key).json(&body);
    if let Some(org) = org {
        rb = rb.header("x-organization-id", org);
    }
    rb.send().await.expect("send")
}

async fn count(app: &TestApp, sql: &str, org: &str) -> i64 {
    let db = app.sql().await;
    db.query_one(sql, &[&org]).await.expect("count").get(0)
}

async fn projects(app: &TestApp, org: &str) -> i64 {
    count(app, "SELECT count(*) FROM projects WHERE organization_id::text = $1", org).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_gets_the_first_answer_and_another_request_is_refused() {
    let app = TestApp::spawn().await;
    let api = app.api();
    let alice = api.user("alice").await;
    let org = api.create_org(&alice, "retry").await;

    let body = json!({"name": "Launch", "description": "once"});
    let first = post(&api, "/api/v1/projects", &alice, Some(&org), "key-1", body.clone()).await;
    assert!(!replayed(&first));
    let etag = first.headers().get("etag").cloned();
    let first = expect_json(first, 201).await;
    for _ in 0..3 {
        let again = post(&api, "/api/v1/projects", &alice, Some(&org), "key-1", body.clone()).await;
        assert!(replayed(&again));
        assert_eq!(again.headers().get("etag").cloned(), etag);
        assert_eq!(expect_json(again, 201).await, first, "the same body");
    }
    assert_eq!(projects(&app, &org).await, 1);

    // The same key with another body, or for another organization of the caller, is another
    // request: 422, and nothing is created.
    let other = post(&api, "/api/v1/projects", &alice, Some(&org), "key-1", json!({"name": "Other"})).await;
    expect_error(other, 422, "IDEMPOTENCY_KEY_REUSED").await;
    let org2 = api.create_org(&alice, "retry-two").await;
    let elsewhere = post(&api, "/api/v1/projects", &alice, Some(&org2), "key-1", body.clone()).await;
    expect_error(elsewhere, 422, "IDEMPOTENCY_KEY_REUSED").await;
    assert_eq!(projects(&app, &org).await + projects(&app, &org2).await, 1);

    // Tasks alike; the key is per route, so reusing one on another route is a new request.
    let project_id = first["id"].as_str().expect("project id");
    let task = json!({"project_id": project_id, "title": "Write it"});
    let t1 =
        expect_json(post(&api, "/api/v1/tasks", &alice, Some(&org), "key-1", task.clone()).await, 201).await;
    let again = post(&api, "/api/v1/tasks", &alice, Some(&org), "key-1", task.clone()).await;
    assert!(replayed(&again));
    assert_eq!(expect_json(again, 201).await, t1);
    let tasks = count(&app, "SELECT count(*) FROM tasks WHERE organization_id::text = $1", &org).await;
    assert_eq!(tasks, 1);

    // A business refusal is kept and replayed too: the task of a project that does not exist.
    let missing = json!({"project_id": uuid::Uuid::new_v4(), "title": "Nowhere"});
    let r = post(&api, "/api/v1/tasks", &alice, Some(&org), "key-404", missing.clone()).await;
    let refusal = expect_error(r, 404, "PROJECT_NOT_FOUND").await;
    let r = post(&api, "/api/v1/tasks", &alice, Some(&org), "key-404", missing).await;
    assert!(replayed(&r));
    assert_eq!(expect_error(r, 404, "PROJECT_NOT_FOUND").await, refusal);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_keys_are_refused_after_authentication() {
    let app = TestApp::spawn().await;
    let api = app.api();
    let alice = api.user("alice").await;
    let org = api.create_org(&alice, "bad-keys").await;
    let body = json!({"name": "Launch"});
    for bad in ["k".repeat(256), "with space".to_owned(), String::new()] {
        let r = post(&api, "/api/v1/projects", &alice, Some(&org), &bad, body.clone()).await;
        expect_error(r, 400, "INVALID_IDEMPOTENCY_KEY").await;
    }
    let longest = "k".repeat(255);
    expect_json(post(&api, "/api/v1/projects", &alice, Some(&org), &longest, body.clone()).await, 201).await;
    // Without credentials the answer is 401 whatever the key.
    let r = api
        .req(Method::POST, "/api/v1/projects")
        .header("x-organization-id", &org)
        .header("idempotency-key", "with space")
        .json(&body)
        .send()
        .await
        .expect("send");
    expect_error(r, 401, "TOKEN_MISSING").await;
    assert_eq!(projects(&app, &org).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_parallel_requests_with_one_key_make_one_project() {
    let app = TestApp::spawn().await;
    let api = app.api();
    let alice = api.user("alice").await;
    let org = api.create_org(&alice, "parallel").await;
    let body = json!({"name": "Once"});
    let answers = futures::future::join_all(
        (0..20).map(|_| post(&api, "/api/v1/projects", &alice, Some(&org), "one-key", body.clone())),
    )
    .await;
    let (mut created, mut in_flight, mut ids) = (0, 0, Vec::new());
    for r in answers {
        match r.status().as_u16() {
            201 => {
                created += 1;
                ids.push(expect_json(r, 201).await["id"].clone());
            }
            409 => {
                in_flight += 1;
                assert_eq!(r.headers().get("retry-after").expect("Retry-After"), "1");
                expect_error(r, 409, "IDEMPOTENCY_IN_FLIGHT").await;
            }
            other => panic!("unexpected {other}: {}", r.text().await.unwrap_or_default()),
        }
    }
    assert_eq!(created + in_flight, 20);
    assert!(created >= 1);
    ids.dedup();
    assert_eq!(ids.len(), 1, "every 201 names the one project");
    assert_eq!(projects(&app, &org).await, 1, "exactly one effect");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_of_two_callers_do_not_collide() {
    let app = TestApp::spawn().await;
    let api = app.api();
    let alice = api.user("alice").await;
    let bob = api.user("bob").await;
    let org = api.create_org(&alice, "two-callers").await;
    api.join(&org, &alice, &bob, "MEMBER").await;
    let path = format!("/api/v1/organizations/{org}/api-keys");
    let key =
        api.call(Method::POST, &path, &alice, None, Some(json!({"name": "ci", "role": "MEMBER"})), 201).await;
    let machine = User { access: key["key"].as_str().expect("secret").to_owned(), ..alice.clone() };

    let body = json!({"name": "Same"});
    let a =
        expect_json(post(&api, "/api/v1/projects", &alice, Some(&org), "shared", body.clone()).await, 201)
            .await;
    let r = post(&api, "/api/v1/projects", &bob, Some(&org), "shared", body.clone()).await;
    assert!(!replayed(&r));
    let b = expect_json(r, 201).await;
    let r = post(&api, "/api/v1/projects", &machine, Some(&org), "shared", body.clone()).await;
    assert!(!replayed(&r));
    let k = expect_json(r, 201).await;
    assert_ne!(a["id"], b["id"]);
    assert_ne!(b["id"], k["id"]);
    assert_eq!(projects(&app, &org).await, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_limit_slot_is_used_once() {
    let app = TestApp::spawn().await;
    let api = app.api();
    let alice = api.user("alice").await;
    let org = api.create_org(&alice, "limit").await; // FREE: 5 projects
    for n in 0..4 {
        api.create_project(&alice, &org, &format!("p{n}")).await;
    }
    let body = json!({"name": "The fifth"});
    let fifth =
        expect_json(post(&api, "/api/v1/projects", &alice, Some(&org), "fifth", body.clone()).await, 201)
            .await;
    for _ in 0..3 {
        let r = post(&api, "/api/v1/projects", &alice, Some(&org), "fifth", body.clone()).await;
        assert!(replayed(&r));
        assert_eq!(expect_json(r, 201).await, fifth);
    }
    assert_eq!(projects(&app, &org).await, 5);
    // The limit's refusal is kept for its key: a retry is refused the same way, and stays
    // refused (kept answer) even after a slot is freed.
    let r = post(&api, "/api/v1/projects", &alice, Some(&org), "sixth", json!({"name": "Sixth"})).await;
    let refused = expect_error(r, 403, "PLAN_LIMIT_REACHED").await;
    let id = fifth["id"].as_str().expect("id");
    let r = api.in_org(Method::DELETE, &format!("/api/v1/projects/{id}"), &alice.access, &org).send().await;
    assert_eq!(r.expect("delete").status(), 204);
    let r = post(&api, "/api/v1/projects", &alice, Some(&org), "sixth", json!({"name": "Sixth"})).await;
    assert!(replayed(&r));
    assert_eq!(expect_error(r, 403, "PLAN_LIMIT_REACHED").await, refused);
    assert_eq!(projects(&app, &org).await, 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_lost_after_the_commit_is_recovered_by_the_retry() {
    let app = TestApp::spawn().await;
    let api = app.api();
    let alice = api.user("alice").await;
    let org = api.create_org(&alice, "lost").await;
    let proxy = LosingProxy::start(app.addr(Svc::Gateway)).await;
    let lossy = Api::new(proxy.url());

    let body = json!({"name": "Survivor"});
    let sent = lossy
        .authed(Method::POST, "/api/v1/projects", &alice.access)
        .header("x-organization-id", &org)
        .header("idempotency-key", "lost-answer")
        .header("connection", "close")
        .json(&body)
        .send()
        .await;
    assert!(sent.is_err(), "the answer was lost: {sent:?}");
    assert_eq!(proxy.lost(), 1);
    // It took effect: the project is there, though the client never heard so.
    assert_eq!(projects(&app, &org).await, 1);
    let row: String = app
        .sql()
        .await
        .query_one("SELECT id::text FROM projects WHERE organization_id::text = $1", &[&org])
        .await
        .expect("row")
        .get(0);

    let retry = post(&api, "/api/v1/projects", &alice, Some(&org), "lost-answer", body).await;
    assert!(replayed(&retry));
    let project = expect_json(retry, 201).await;
    assert_eq!(project["id"], row, "the original answer");
    assert_eq!(projects(&app, &org).await, 1, "and still one row");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_keys_are_purged_and_then_run_again() {
    let app = TestApp::spawn_with(|s| s.idempotency_ttl = Duration::from_secs(1)).await;
    let api = app.api();
    let alice = api.user("alice").await;
    let org = api.create_org(&alice, "purge").await;
    let body = json!({"name": "Short-lived"});
    expect_json(post(&api, "/api/v1/projects", &alice, Some(&org), "short", body.clone()).await, 201).await;
    let kept = "SELECT count(*) FROM work_idempotency_keys WHERE $1::text IS NOT NULL";
    assert_eq!(count(&app, kept, &org).await, 1);
    let purged = eventually(Duration::from_secs(10), || async { count(&app, kept, &org).await == 0 }).await;
    assert!(purged, "the expired key was purged");
    let r = post(&api, "/api/v1/projects", &alice, Some(&org), "short", body).await;
    assert!(!replayed(&r));
    expect_json(r, 201).await;
    assert_eq!(projects(&app, &org).await, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_owning_route_replays() {
    let app = TestApp::spawn().await;
    let api = app.api();

    // Registration: scoped to the client address and the email.
    let register = json!({"email": "new@example.com", "password": "Secret123!", "full_name": "New"});
    let r = api
        .req(Method::POST, "/api/v1/auth/register")
        .header("idempotency-key", "reg")
        .json(&register)
        .send()
        .await;
    let user = expect_json(r.expect("register"), 201).await;
    let r = api
        .req(Method::POST, "/api/v1/auth/register")
        .header("idempotency-key", "reg")
        .json(&register)
        .send()
        .await;
    let r = r.expect("register again");
    assert!(replayed(&r));
    assert_eq!(expect_json(r, 201).await, user);
    let renamed = json!({"email": "new@example.com", "password": "Secret123!", "full_name": "Other"});
    let r = api
        .req(Method::POST, "/api/v1/auth/register")
        .header("idempotency-key", "reg")
        .json(&renamed)
        .send()
        .await;
    expect_error(r.expect("register renamed"), 422, "IDEMPOTENCY_KEY_REUSED").await;

    let alice = api.user("alice").await;
    let bob = api.user("bob").await;
    // Organization creation.
    let body = json!({"name": "Acme", "slug": "acme-idem"});
    let org =
        expect_json(post(&api, "/api/v1/organizations", &alice, None, "org", body.clone()).await, 201).await;
    let r = post(&api, "/api/v1/organizations", &alice, None, "org", body).await;
    assert!(replayed(&r));
    assert_eq!(expect_json(r, 201).await, org);
    let org = org["id"].as_str().expect("org id").to_owned();

    // Invitations and the deprecated members alias: one invitation, one mail.
    let path = format!("/api/v1/organizations/{org}/invitations");
    let invite = json!({"email": bob.email, "role": "MEMBER"});
    let first = expect_json(post(&api, &path, &alice, None, "inv", invite.clone()).await, 201).await;
    let r = post(&api, &path, &alice, None, "inv", invite.clone()).await;
    assert!(replayed(&r));
    assert_eq!(expect_json(r, 201).await, first);
    let alias = format!("/api/v1/organizations/{org}/members");
    let other = json!({"email": "carol@example.com", "role": "MEMBER"});
    let via_alias = expect_json(post(&api, &alias, &alice, None, "inv", other.clone()).await, 201).await;
    let r = post(&api, &alias, &alice, None, "inv", other).await;
    assert!(replayed(&r));
    assert_eq!(expect_json(r, 201).await, via_alias);
    let invitations =
        count(&app, "SELECT count(*) FROM invitations WHERE organization_id::text = $1", &org).await;
    assert_eq!(invitations, 2);

    // API keys: the replay carries the same secret, which is not kept in plaintext.
    let path = format!("/api/v1/organizations/{org}/api-keys");
    let body = json!({"name": "ci", "role": "MEMBER"});
    let key = expect_json(post(&api, &path, &alice, None, "key", body.clone()).await, 201).await;
    let r = post(&api, &path, &alice, None, "key", body).await;
    assert!(replayed(&r));
    assert_eq!(expect_json(r, 201).await, key);
    let keys = count(&app, "SELECT count(*) FROM api_keys WHERE organization_id::text = $1", &org).await;
    assert_eq!(keys, 1);
    let secret = key["key"].as_str().expect("secret").as_bytes().to_vec();
    let db = app.sql().await;
    for row in db.query("SELECT body FROM tenancy_idempotency_keys", &[]).await.expect("rows") {
        let body: Vec<u8> = row.get(0);
        assert!(!body.windows(secret.len()).any(|w| w == secret.as_slice()), "a kept secret in plaintext");
    }

    // Plan change (PUT) and ownership transfer.
    let path = format!("/api/v1/organizations/{org}/subscription");
    let pro = api
        .authed(Method::PUT, &path, &alice.access)
        .header("idempotency-key", "plan")
        .json(&json!({"plan": "PRO"}))
        .send()
        .await
        .expect("plan");
    let pro = expect_json(pro, 200).await;
    let r = api
        .authed(Method::PUT, &path, &alice.access)
        .header("idempotency-key", "plan")
        .json(&json!({"plan": "PRO"}))
        .send()
        .await
        .expect("plan again");
    assert!(replayed(&r));
    assert_eq!(expect_json(r, 200).await, pro);
    let r = api
        .authed(Method::PUT, &path, &alice.access)
        .header("idempotency-key", "plan")
        .json(&json!({"plan": "FREE"}))
        .send()
        .await
        .expect("plan reused");
    expect_error(r, 422, "IDEMPOTENCY_KEY_REUSED").await;

    let carol = api.user("carol2").await;
    api.join(&org, &alice, &carol, "ADMIN").await;
    let path = format!("/api/v1/organizations/{org}/transfer-ownership");
    let body = json!({"user_id": carol.id});
    let r = post(&api, &path, &alice, None, "owner", body.clone()).await;
    assert_eq!(r.status(), 204);
    assert!(!replayed(&r));
    // Alice is ADMIN now: without the key this would be 403; the retry gets the first answer.
    let r = post(&api, &path, &alice, None, "owner", body).await;
    assert_eq!(r.status(), 204);
    assert!(replayed(&r));
    let events = count(
        &app,
        "SELECT count(*) FROM audit_events WHERE organization_id::text = $1 AND action = 'ownership.transferred'",
        &org,
    )
    .await;
    assert_eq!(events, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browsers_may_send_the_key_and_read_the_marker() {
    let app = TestApp::spawn().await;
    let api = app.api();
    let origin = "http://app.example";
    let preflight = api
        .req(Method::OPTIONS, "/api/v1/projects")
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "idempotency-key")
        .send()
        .await
        .expect("preflight");
    let allowed = preflight.headers().get("access-control-allow-headers").expect("allow headers");
    assert!(allowed.to_str().expect("text").to_ascii_lowercase().contains("idempotency-key"), "{allowed:?}");

    let alice = api.user("alice").await;
    let org = api.create_org(&alice, "cors").await;
    let r = api
        .in_org(Method::POST, "/api/v1/projects", &alice.access, &org)
        .header("origin", origin)
        .header("idempotency-key", "cors-1")
        .json(&json!({"name": "Browser"}))
        .send()
        .await
        .expect("send");
    let exposed = r.headers().get("access-control-expose-headers").expect("expose headers");
    let exposed = exposed.to_str().expect("text").to_ascii_lowercase();
    assert!(exposed.contains("idempotent-replayed") && exposed.contains("retry-after"), "{exposed}");
}
