//! The refresh grace (issue 14) through REST: a retry of `POST /auth/refresh` within
//! `OPERANT_REFRESH_REUSE_GRACE_SECS` returns the same pair, parallel refreshes of one token get
//! one successor, and a reuse after the window is 401 `REFRESH_TOKEN_REUSED` with the family
//! revoked.

use std::time::Duration;

use operant_testkit::TestApp;
use operant_testkit::rest::{Api, access, expect_error, expect_json, refresh};
use reqwest::{Method, Response};
use serde_json::json;

async fn post_refresh(api: &Api, token: &str) -> Response {
    api.req(Method::POST, "/api/v1/auth/refresh")
        .json(&json!({ "refresh_token": token }))
        .send()
        .await
        .expect("refresh")
}

async fn me_status(api: &Api, access_token: &str) -> u16 {
    api.authed(Method::GET, "/api/v1/users/me", access_token).send().await.expect("me").status().as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retried_refresh_returns_the_same_pair_which_keeps_working() {
    let app = TestApp::spawn().await;
    let api = app.api();
    let (_, tokens) = api.signup("retry@example.com", "Retry").await;
    let second = expect_json(post_refresh(&api, &refresh(&tokens)).await, 200).await;
    let again = expect_json(post_refresh(&api, &refresh(&tokens)).await, 200).await;
    assert_eq!(refresh(&again), refresh(&second));
    assert_eq!(access(&again), access(&second));
    assert_eq!(again["token_type"], "bearer");

    assert_eq!(me_status(&api, &access(&again)).await, 200);
    let third = expect_json(post_refresh(&api, &refresh(&again)).await, 200).await;
    assert_ne!(refresh(&third), refresh(&second));
    assert_eq!(me_status(&api, &access(&third)).await, 200);
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_parallel_refreshes_get_one_successor() {
    let app = TestApp::spawn().await;
    let api = app.api();
    let (_, tokens) = api.signup("parallel@example.com", "Parallel").await;
    let token = refresh(&tokens);
    let answers = futures::future::join_all((0..10).map(|_| post_refresh(&api, &token))).await;
    let mut pairs = Vec::new();
    for r in answers {
        pairs.push(expect_json(r, 200).await);
    }
    for p in &pairs {
        assert_eq!(refresh(p), refresh(&pairs[0]));
        assert_eq!(access(p), access(&pairs[0]));
    }
    assert_eq!(me_status(&api, &access(&pairs[0])).await, 200);
    let next = expect_json(post_refresh(&api, &refresh(&pairs[0])).await, 200).await;
    assert_eq!(me_status(&api, &access(&next)).await, 200);
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refresh_reused_after_the_grace_revokes_the_family() {
    let app = TestApp::spawn_with(|s| s.tokens.refresh_reuse_grace = Duration::from_secs(1)).await;
    let api = app.api();
    let (_, tokens) = api.signup("late@example.com", "Late").await;
    let second = expect_json(post_refresh(&api, &refresh(&tokens)).await, 200).await;

    tokio::time::sleep(Duration::from_millis(1300)).await;
    expect_error(post_refresh(&api, &refresh(&tokens)).await, 401, "REFRESH_TOKEN_REUSED").await;
    expect_error(post_refresh(&api, &refresh(&second)).await, 401, "SESSION_REVOKED").await;
    assert_eq!(me_status(&api, &access(&second)).await, 401);
    app.shutdown().await;
}
