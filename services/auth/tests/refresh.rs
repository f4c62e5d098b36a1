//! Rotating refresh tokens: the chain, reuse detection, the concurrent-refresh race and the
//! failure codes (the grace window itself: `refresh_grace.rs`).
#![allow(clippy::unwrap_used)]

use operant_testkit::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotation_chain_and_reuse_revokes_the_family() {
    let app = TestApp::spawn().await;
    let mut c = app.clients();
    let (user, first) = c.user_with_tokens("chain").await;

    let second = c.refresh(&first.refresh_token).await.unwrap();
    let third = c.refresh(&second.refresh_token).await.unwrap();
    assert_ne!(second.refresh_token, first.refresh_token);
    assert_ne!(third.refresh_token, second.refresh_token);
    assert_eq!(third.token_type, "bearer");
    for pair in [&first, &second, &third] {
        assert_eq!(c.me(&pair.access_token).await.unwrap().id, user.id);
    }

    // The first token was already rotated: theft is assumed and the whole session ends.
    assert_eq!(code(c.refresh(&first.refresh_token).await), "REFRESH_TOKEN_REUSED");
    assert_eq!(code(c.refresh(&third.refresh_token).await), "SESSION_REVOKED");
    assert_eq!(code(c.me(&third.access_token).await), "TOKEN_REVOKED");
    let reason: String = app
        .sql()
        .await
        .query_one("SELECT revoked_reason FROM sessions WHERE user_id = $1::text::uuid", &[&user.id])
        .await
        .unwrap()
        .get(0);
    assert_eq!(reason, "refresh_token_reused");

    // Another session of the same user is untouched.
    let other = c.login(&user.email).await;
    c.refresh(&other.refresh_token).await.unwrap();
    app.shutdown().await;
}

/// `parallel` refreshes of one fresh token at once.
async fn race(
    c: &mut Clients,
    parallel: usize,
) -> (String, Vec<Result<tonic::Response<operant_proto::auth::v1::RefreshTokenResponse>, tonic::Status>>) {
    let (user, pair) = c.user_with_tokens("race").await;
    let attempts = (0..parallel).map(|_| {
        let mut c2 = c.auth.clone();
        let token = pair.refresh_token.clone();
        async move {
            c2.refresh_token(operant_proto::auth::v1::RefreshTokenRequest { refresh_token: token }).await
        }
    });
    (user.id, futures::future::join_all(attempts).await)
}

/// Within the refresh grace (issue 14), parallel refreshes of one token all get the one
/// successor: the token is rotated once and the family has one live token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_refreshes_rotate_once_and_share_the_successor() {
    let app = TestApp::spawn().await;
    let mut c = app.clients();
    for parallel in [2usize, 5, 10] {
        let (user_id, results) = race(&mut c, parallel).await;
        let successors: std::collections::HashSet<String> =
            results.into_iter().map(|r| r.unwrap().into_inner().tokens.unwrap().refresh_token).collect();
        assert_eq!(successors.len(), 1, "{parallel} parallel refreshes");
        assert_eq!(sql::live_refresh_tokens(&app, &user_id).await, 1, "{parallel} parallel refreshes");
    }
    app.shutdown().await;
}

/// Without a grace, of concurrent refreshes exactly one wins and the others are reuse.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_grace_concurrent_refreshes_have_exactly_one_winner() {
    let app = TestApp::spawn_with(|s| s.tokens.refresh_reuse_grace = std::time::Duration::ZERO).await;
    let mut c = app.clients();
    for parallel in [2usize, 5, 10] {
        let (_, results) = race(&mut c, parallel).await;
        let winners = results.iter().filter(|r| r.is_ok()).count();
        assert_eq!(winners, 1, "{parallel} parallel refreshes");
        for r in results.into_iter().filter(|r| r.is_err()) {
            assert_eq!(code(r), "REFRESH_TOKEN_REUSED");
        }
    }
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_expired_and_malformed_refresh_tokens() {
    let app = TestApp::spawn().await;
    let mut c = app.clients();
    let (user, pair) = c.user_with_tokens("expiry").await;

    let unknown = format!("ort_{}", "A".repeat(43));
    assert_eq!(code(c.refresh(&unknown).await), "INVALID_REFRESH_TOKEN");
    assert_eq!(code(c.refresh("garbage").await), "INVALID_REFRESH_TOKEN");
    assert_eq!(code(c.refresh(&pair.access_token).await), "INVALID_REFRESH_TOKEN");
    assert_eq!(code(c.refresh("").await), "VALIDATION_ERROR");

    app.sql()
        .await
        .execute(
            "UPDATE refresh_tokens SET expires_at = now() - interval '1 second' \
             WHERE session_id IN (SELECT id FROM sessions WHERE user_id = $1::text::uuid)",
            &[&user.id],
        )
        .await
        .unwrap();
    assert_eq!(code(c.refresh(&pair.refresh_token).await), "REFRESH_TOKEN_EXPIRED");
    app.shutdown().await;
}
