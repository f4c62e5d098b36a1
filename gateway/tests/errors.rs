//! Everything the gateway answers by itself, always in the error body: malformed, truncated and
//! mistyped JSON, wrong content types, oversized bodies, bad parameters, unknown routes, wrong
//! methods, panics, and services that cannot be reached.

use axum::Router;
use axum::routing::get;
use operant_testkit::lone::LoneGateway;
use operant_testkit::rest::{expect_error, violated_field};
use serde_json::json;

fn client() -> reqwest::Client {
    reqwest::Client::new()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_and_truncated_json_are_400_invalid_json() {
    let gw = LoneGateway::spawn().await;
    for body in ["{not json", r#"{"email": "a@example.com", "pass"#, "", "   "] {
        let r = client()
            .post(format!("{}/api/v1/auth/login", gw.url))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("send");
        expect_error(r, 400, "INVALID_JSON").await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_or_missing_content_type_is_415() {
    let gw = LoneGateway::spawn().await;
    let body = r#"{"email": "a@example.com", "password": "secret123"}"#;
    let r = client()
        .post(format!("{}/api/v1/auth/login", gw.url))
        .header("content-type", "text/plain")
        .body(body)
        .send()
        .await
        .expect("send");
    expect_error(r, 415, "UNSUPPORTED_MEDIA_TYPE").await;
    let r = client().post(format!("{}/api/v1/auth/login", gw.url)).body(body).send().await.expect("send");
    expect_error(r, 415, "UNSUPPORTED_MEDIA_TYPE").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_shapes_are_422_naming_the_field() {
    let gw = LoneGateway::spawn().await;
    let login = format!("{}/api/v1/auth/login", gw.url);
    let cases = [
        (json!({"email": 5, "password": "secret123"}), "email"),
        (json!({"email": "a@example.com"}), "password"),
        (json!([1, 2, 3]), "body"),
    ];
    for (body, field) in cases {
        let r = client().post(&login).json(&body).send().await.expect("send");
        let body = expect_error(r, 422, "VALIDATION_ERROR").await;
        assert_eq!(violated_field(&body), field, "{body}");
    }
    // Unknown enum values name the field too.
    let org = uuid::Uuid::new_v4();
    let r = client()
        .post(format!("{}/api/v1/organizations/{org}/members", gw.url))
        .json(&json!({"email": "a@example.com", "role": "KING"}))
        .send()
        .await
        .expect("send");
    let body = expect_error(r, 422, "VALIDATION_ERROR").await;
    assert_eq!(violated_field(&body), "role", "{body}");
    // A bad date.
    let r = client()
        .post(format!("{}/api/v1/tasks", gw.url))
        .json(&json!({"project_id": org, "title": "t", "due_date": "tomorrow"}))
        .send()
        .await
        .expect("send");
    let body = expect_error(r, 422, "VALIDATION_ERROR").await;
    assert_eq!(violated_field(&body), "due_date", "{body}");
    // `null` for a field that cannot be cleared.
    let r = client()
        .patch(format!("{}/api/v1/tasks/{org}", gw.url))
        .json(&json!({"title": null}))
        .send()
        .await
        .expect("send");
    let body = expect_error(r, 422, "VALIDATION_ERROR").await;
    assert_eq!(violated_field(&body), "title", "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_body_is_413() {
    let gw = LoneGateway::spawn().await; // limit: 64 KiB
    let big = format!(r#"{{"email": "a@example.com", "password": "{}"}}"#, "x".repeat(200 * 1024));
    let r = client()
        .post(format!("{}/api/v1/auth/login", gw.url))
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await
        .expect("send");
    expect_error(r, 413, "PAYLOAD_TOO_LARGE").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_route_is_404_and_wrong_method_is_405() {
    let gw = LoneGateway::spawn().await;
    let r = client().get(format!("{}/api/v1/nope", gw.url)).send().await.expect("send");
    expect_error(r, 404, "NOT_FOUND").await;
    let r = client().get(format!("{}/definitely/not/here", gw.url)).send().await.expect("send");
    expect_error(r, 404, "NOT_FOUND").await;
    let r = client().delete(format!("{}/api/v1/auth/login", gw.url)).send().await.expect("send");
    expect_error(r, 405, "METHOD_NOT_ALLOWED").await;
    let r = client().post(format!("{}/api/v1/users/me", gw.url)).send().await.expect("send");
    expect_error(r, 405, "METHOD_NOT_ALLOWED").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_path_and_query_parameters_are_422_naming_them() {
    let gw = LoneGateway::spawn().await;
    let cases = [
        ("/api/v1/projects/not-a-uuid", "id"),
        ("/api/v1/tasks/123", "id"),
        ("/api/v1/organizations/zzz/members", "id"),
        (&format!("/api/v1/organizations/{}/members/nope", uuid::Uuid::new_v4()), "user_id"),
        ("/api/v1/projects?limit=0", "limit"),
        ("/api/v1/projects?limit=1000", "limit"),
        ("/api/v1/projects?limit=ten", "limit"),
        ("/api/v1/projects?skip=-1", "skip"),
        ("/api/v1/tasks?status=TODO,SLEEPING", "status"),
        ("/api/v1/tasks?priority=LOW&priority=MEGA", "priority"),
        ("/api/v1/tasks?assignee_id=someone", "assignee_id"),
        ("/api/v1/tasks?due_before=soon", "due_before"),
        ("/api/v1/tasks?project_id=x", "project_id"),
    ];
    for (path, field) in cases {
        let method = if path.contains("/members/") { reqwest::Method::DELETE } else { reqwest::Method::GET };
        let r = client().request(method, format!("{}{path}", gw.url)).send().await.expect("send");
        let body = expect_error(r, 422, "VALIDATION_ERROR").await;
        assert_eq!(violated_field(&body), field, "{path}: {body}");
    }
    let r = client()
        .put(format!("{}/api/v1/projects/{}", gw.url, uuid::Uuid::new_v4()))
        .header("if-match", "\"abc\"")
        .json(&json!({"name": "x"}))
        .send()
        .await
        .expect("send");
    let body = expect_error(r, 422, "VALIDATION_ERROR").await;
    assert_eq!(violated_field(&body), "If-Match", "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_service_is_503_and_request_ids_are_echoed() {
    let gw = LoneGateway::spawn().await;
    let r = client()
        .post(format!("{}/api/v1/auth/login", gw.url))
        .header("x-request-id", "test-request-1")
        .json(&json!({"email": "a@example.com", "password": "secret123"}))
        .send()
        .await
        .expect("send");
    assert_eq!(r.headers()["x-request-id"], "test-request-1");
    expect_error(r, 503, "SERVICE_UNAVAILABLE").await;

    let r = client().get(format!("{}/api/v1/users/me", gw.url)).send().await.expect("send");
    assert!(!r.headers()["x-request-id"].is_empty(), "a request id is generated");
    expect_error(r, 503, "SERVICE_UNAVAILABLE").await;

    let r = client().get(format!("{}/health", gw.url)).send().await.expect("send");
    assert_eq!(r.status().as_u16(), 503);
    let body: serde_json::Value = r.json().await.expect("json");
    assert_eq!(body["status"], "unavailable");
    assert_eq!(body["services"]["auth"], "UNREACHABLE");
    assert_eq!(body["error_code"], "SERVICE_UNAVAILABLE");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_handler_is_500_internal_error() {
    async fn boom() -> &'static str {
        panic!("boom")
    }
    let gw = LoneGateway::spawn_with_routes(Router::new().route("/boom", get(boom))).await;
    let r = client().get(format!("{}/boom", gw.url)).send().await.expect("send");
    expect_error(r, 500, "INTERNAL_ERROR").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_that_never_answers_is_504_upstream_timeout() {
    // Accepts connections and never says a word.
    let black_hole = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = black_hole.local_addr().expect("addr");
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = black_hole.accept().await {
            held.push(socket);
        }
    });
    let mut settings = operant_testkit::lone::settings_without_services().await;
    settings.endpoints.auth = vec![format!("http://{addr}")];
    let state = operant_gateway::AppState::with_upstream_timeout(
        std::sync::Arc::new(settings),
        std::time::Duration::from_millis(300),
    )
    .expect("state");
    let gw = LoneGateway::serve(operant_gateway::router(state)).await;
    let r = client()
        .post(format!("{}/api/v1/auth/login", gw.url))
        .json(&json!({"email": "a@example.com", "password": "secret123"}))
        .send()
        .await
        .expect("send");
    expect_error(r, 504, "UPSTREAM_TIMEOUT").await;
}
