//! Rotating refresh tokens: the chain, reuse detection, the concurrent-refresh race and the
//! failure codes.
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_refreshes_have_exactly_one_winner() {
    let app = TestApp::spawn().await;
    let mut c = app.clients();
    for parallel in [2usize, 5, 10] {
        let (_, pair) = c.user_with_tokens("race").await;
        let attempts = (0..parallel).map(|_| {
            let mut c2 = c.auth.clone();
            let token = pair.refresh_token.clone();
            async move {
                c2.refresh_token(operant_proto::auth::v1::RefreshTokenRequest { refresh_token: token }).await
            }
        });
        let results = futures::future::join_all(attempts).await;
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
