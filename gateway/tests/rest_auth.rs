//! Auth through REST, end to end against the running suite: register → login → me → refresh
//! (body and header forms) → logout, sessions, and the error mapping of real service errors.

use std::time::Duration;

use operant_testkit::rest::expect_error;
use operant_testkit::rest::{access, expect_empty, expect_json, refresh};
use operant_testkit::{PASSWORD, TestApp};
use reqwest::Method;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn register_login_me_refresh_logout() {
    let app = TestApp::spawn().await;
    let api = app.api();

    let (user, tokens) = api.signup("  Alice@Example.com ", "Alice").await;
    assert_eq!(user["email"], "alice@example.com");
    assert_eq!(user["full_name"], "Alice");
    assert_eq!(user["email_verified"], false);
    assert!(user["created_at"].as_str().is_some_and(|t| t.contains('T')), "RFC 3339: {user}");
    assert_eq!(tokens["token_type"], "bearer");
    assert!(tokens["expires_in"].as_i64().is_some_and(|s| s > 0));

    // The same email again: 409 EMAIL_TAKEN; a short password: 422 naming it.
    let r = api
        .req(Method::POST, "/api/v1/auth/register")
        .json(&json!({"email": "alice@example.com", "password": "another password"}))
        .send()
        .await
        .expect("send");
    expect_error(r, 409, "EMAIL_TAKEN").await;
    let r = api
        .req(Method::POST, "/api/v1/auth/register")
        .json(&json!({"email": "bob@example.com", "password": "short"}))
        .send()
        .await
        .expect("send");
    let body = expect_error(r, 422, "VALIDATION_ERROR").await;
    assert_eq!(operant_testkit::rest::violated_field(&body), "password", "{body}");

    // Wrong password: 401.
    let r = api
        .req(Method::POST, "/api/v1/auth/login")
        .json(&json!({"email": "alice@example.com", "password": "wrong password!"}))
        .send()
        .await
        .expect("send");
    expect_error(r, 401, "INVALID_CREDENTIALS").await;

    // Me, and a profile update through PATCH and PUT.
    let me = expect_json(
        api.authed(Method::GET, "/api/v1/users/me", &access(&tokens)).send().await.expect("me"),
        200,
    )
    .await;
    assert_eq!(me["id"], user["id"]);
    let r = api
        .authed(Method::PATCH, "/api/v1/users/me", &access(&tokens))
        .json(&json!({"full_name": "Alice A."}))
        .send()
        .await
        .expect("patch me");
    assert_eq!(expect_json(r, 200).await["full_name"], "Alice A.");
    let r = api
        .authed(Method::PUT, "/api/v1/users/me", &access(&tokens))
        .json(&json!({}))
        .send()
        .await
        .expect("put");
    assert_eq!(expect_json(r, 200).await["full_name"], "Alice A.", "fields left out stay");
    // No token: 401.
    let r = api.req(Method::GET, "/api/v1/users/me").send().await.expect("send");
    expect_error(r, 401, "TOKEN_MISSING").await;

    // Refresh with the token in the body, then in the Authorization header.
    let r = api
        .req(Method::POST, "/api/v1/auth/refresh")
        .json(&json!({"refresh_token": refresh(&tokens)}))
        .send()
        .await
        .expect("refresh");
    let second = expect_json(r, 200).await;
    assert_ne!(refresh(&second), refresh(&tokens));
    let r =
        api.authed(Method::POST, "/api/v1/auth/refresh", &refresh(&second)).send().await.expect("refresh");
    let third = expect_json(r, 200).await;
    let me = api.authed(Method::GET, "/api/v1/users/me", &access(&third)).send().await.expect("me");
    expect_json(me, 200).await;

    // Sessions: the current one is listed and marked.
    let r = api.authed(Method::GET, "/api/v1/auth/sessions", &access(&third)).send().await.expect("sessions");
    let sessions = expect_json(r, 200).await;
    let sessions = sessions.as_array().expect("array");
    assert!(sessions.iter().any(|s| s["current"] == true), "{sessions:?}");

    // Logout with the access token: 204, then that token stops working within a second.
    let r = api.authed(Method::POST, "/api/v1/auth/logout", &access(&third)).send().await.expect("logout");
    expect_empty(r, 204).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
    loop {
        let r = api.authed(Method::GET, "/api/v1/users/me", &access(&third)).send().await.expect("me");
        if r.status() == 401 {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "the access token still works after logout");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Its refresh token is dead too.
    let r = api
        .req(Method::POST, "/api/v1/auth/refresh")
        .json(&json!({"refresh_token": refresh(&third)}))
        .send()
        .await
        .expect("refresh");
    assert_eq!(r.status(), 401);
    // Logout is idempotent, also by refresh token in the body.
    let r = api
        .req(Method::POST, "/api/v1/auth/logout")
        .json(&json!({"refresh_token": refresh(&third)}))
        .send()
        .await
        .expect("logout");
    expect_empty(r, 204).await;
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_token_reuse_is_401_and_recovery_routes_answer() {
    let app = TestApp::spawn().await;
    let api = app.api();
    let (_, tokens) = api.signup("carol@example.com", "Carol").await;
    let r =
        api.authed(Method::POST, "/api/v1/auth/refresh", &refresh(&tokens)).send().await.expect("refresh");
    let second = expect_json(r, 200).await;
    let r =
        api.authed(Method::POST, "/api/v1/auth/refresh", &refresh(&second)).send().await.expect("refresh");
    expect_json(r, 200).await;
    // `tokens` is two rotations back: reuse even within the refresh grace.
    let r = api.authed(Method::POST, "/api/v1/auth/refresh", &refresh(&tokens)).send().await.expect("reuse");
    expect_error(r, 401, "REFRESH_TOKEN_REUSED").await;
    // No token anywhere: 422 naming it.
    let r = api.req(Method::POST, "/api/v1/auth/refresh").send().await.expect("refresh");
    let body = expect_error(r, 422, "VALIDATION_ERROR").await;
    assert_eq!(operant_testkit::rest::violated_field(&body), "refresh_token");

    // Password reset requests are always 202, known account or not.
    for email in ["carol@example.com", "nobody@example.com"] {
        let r = api
            .req(Method::POST, "/api/v1/auth/password-reset/request")
            .json(&json!({"email": email}))
            .send()
            .await
            .expect("reset");
        assert_eq!(r.status(), 202);
    }
    let r = api
        .req(Method::POST, "/api/v1/auth/password-reset/confirm")
        .json(&json!({"token": "not-a-token", "new_password": "a new password"}))
        .send()
        .await
        .expect("confirm");
    assert!(r.status().is_client_error(), "bogus reset token refused: {}", r.status());

    let jwks =
        expect_json(api.req(Method::GET, "/.well-known/jwks.json").send().await.expect("jwks"), 200).await;
    let key = &jwks["keys"][0];
    assert_eq!(key["kty"], "OKP");
    assert_eq!(key["alg"], "EdDSA");
    assert!(key["use"].is_string() && key["kid"].is_string());

    let health = expect_json(api.req(Method::GET, "/health").send().await.expect("health"), 200).await;
    assert_eq!(health["status"], "ok");
    assert_eq!(health["services"]["work"], "SERVING");
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_record_the_forwarded_client_and_can_be_revoked() {
    let app = TestApp::spawn().await;
    let api = app.api();
    let (_, first) = api.signup("dave@example.com", "Dave").await;
    let r = api
        .req(Method::POST, "/api/v1/auth/login")
        .header("user-agent", "operant-gateway-test/1.0")
        .json(&json!({"email": "dave@example.com", "password": PASSWORD}))
        .send()
        .await
        .expect("login");
    let second = expect_json(r, 200).await;

    let r = api.authed(Method::GET, "/api/v1/auth/sessions", &access(&second)).send().await.expect("list");
    let sessions = expect_json(r, 200).await;
    let sessions = sessions.as_array().expect("array").clone();
    assert_eq!(sessions.len(), 2, "{sessions:?}");
    let current = sessions.iter().find(|s| s["current"] == true).expect("current session");
    // The gateway forwards the client's user agent and address, not its own.
    assert_eq!(current["user_agent"], "operant-gateway-test/1.0", "{current}");
    assert_eq!(current["ip_address"], "127.0.0.1", "{current}");

    let other = sessions.iter().find(|s| s["current"] == false).expect("other session");
    let path = format!("/api/v1/auth/sessions/{}", other["id"].as_str().expect("id"));
    let r = api.authed(Method::DELETE, &path, &access(&second)).send().await.expect("revoke");
    expect_empty(r, 204).await;
    let r = api
        .req(Method::POST, "/api/v1/auth/refresh")
        .json(&json!({"refresh_token": refresh(&first)}))
        .send()
        .await
        .expect("refresh revoked");
    assert_eq!(r.status(), 401);
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttled_logins_are_429_with_retry_after() {
    let app = TestApp::spawn().await;
    let api = app.api();
    api.signup("eve@example.com", "Eve").await;
    for _ in 0..50 {
        let r = api
            .req(Method::POST, "/api/v1/auth/login")
            .json(&json!({"email": "eve@example.com", "password": "wrong password!"}))
            .send()
            .await
            .expect("login");
        if r.status() == 429 {
            let retry_after: u64 =
                r.headers()["retry-after"].to_str().expect("ascii").parse().expect("seconds");
            assert!(retry_after >= 1);
            expect_error(r, 429, "TOO_MANY_ATTEMPTS").await;
            app.shutdown().await;
            return;
        }
        expect_error(r, 401, "INVALID_CREDENTIALS").await;
    }
    panic!("50 wrong passwords were never throttled");
}
