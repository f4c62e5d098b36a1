//! Logout, session listing and revocation, password change — and that every revocation is
//! seen at once by the verifiers (this process, another replica, and WatchRevokedSessions).
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use operant_proto::auth::v1 as pb;
use operant_testkit::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logout_by_access_token_and_by_refresh_token() {
    let app = TestApp::spawn().await;
    let mut c = app.clients();
    let (user, a) = c.user_with_tokens("logout").await;
    let b = c.login(&user.email).await;

    // By the caller's access token.
    c.auth.logout(bearer(pb::LogoutRequest { refresh_token: None }, &a.access_token)).await.unwrap();
    assert_eq!(code(c.me(&a.access_token).await), "TOKEN_REVOKED");
    // Idempotent: logging out again with the same (now revoked) access token still succeeds.
    c.auth.logout(bearer(pb::LogoutRequest { refresh_token: None }, &a.access_token)).await.unwrap();
    assert_eq!(code(c.refresh(&a.refresh_token).await), "SESSION_REVOKED");
    // Session b is untouched.
    c.me(&b.access_token).await.unwrap();

    // By refresh token, without any access token; twice (idempotent), and with an unknown one.
    for _ in 0..2 {
        c.auth.logout(pb::LogoutRequest { refresh_token: Some(b.refresh_token.clone()) }).await.unwrap();
    }
    // A well-formed but unknown token is fine (nothing to end); a malformed one is refused.
    let unknown = format!("ort_{}", "A".repeat(43));
    c.auth.logout(pb::LogoutRequest { refresh_token: Some(unknown) }).await.unwrap();
    let malformed = c.auth.logout(pb::LogoutRequest { refresh_token: Some("ort_unknown".into()) }).await;
    assert_eq!(code(malformed), "INVALID_REFRESH_TOKEN");
    assert_eq!(code(c.me(&b.access_token).await), "TOKEN_REVOKED");
    // Neither kind of token: 401.
    assert_eq!(code(c.auth.logout(pb::LogoutRequest { refresh_token: None }).await), "TOKEN_MISSING");
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_are_listed_and_revoked() {
    let app = TestApp::spawn().await;
    let mut c = app.clients();
    let (user, a) = c.user_with_tokens("sessions").await;
    let b = c.login(&user.email).await;
    let (_, stranger) = c.user_with_tokens("stranger").await;

    let list = |c: &mut Clients, token: String| {
        let mut auth = c.auth.clone();
        async move {
            auth.list_sessions(bearer(pb::ListSessionsRequest {}, &token))
                .await
                .unwrap()
                .into_inner()
                .sessions
        }
    };
    let sessions = list(&mut c, a.access_token.clone()).await;
    assert_eq!(sessions.len(), 2);
    assert_eq!(sessions.iter().filter(|s| s.current).count(), 1);
    assert_eq!(sessions[0].ip_address, "127.0.0.1");
    let other = sessions.iter().find(|s| !s.current).unwrap().id.clone();

    // Another user's session id is answered like a missing one.
    let foreign = c
        .auth
        .revoke_session(bearer(
            pb::RevokeSessionRequest { session_id: other.clone() },
            &stranger.access_token,
        ))
        .await;
    assert_eq!(code(foreign), "SESSION_NOT_FOUND");
    let bad = c
        .auth
        .revoke_session(bearer(pb::RevokeSessionRequest { session_id: "x".into() }, &a.access_token))
        .await;
    assert_eq!(code(bad), "VALIDATION_ERROR");

    c.auth
        .revoke_session(bearer(pb::RevokeSessionRequest { session_id: other.clone() }, &a.access_token))
        .await
        .unwrap();
    assert_eq!(code(c.me(&b.access_token).await), "TOKEN_REVOKED");
    assert_eq!(list(&mut c, a.access_token.clone()).await.len(), 1);
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_change_revokes_every_other_session() {
    let app = TestApp::spawn().await;
    let mut c = app.clients();
    let (user, a) = c.user_with_tokens("pwchange").await;
    let b = c.login(&user.email).await;

    let wrong = c
        .users
        .change_password(bearer(
            pb::ChangePasswordRequest {
                current_password: "not it at all".into(),
                new_password: "a new password".into(),
            },
            &a.access_token,
        ))
        .await;
    assert_eq!(code(wrong), "WRONG_PASSWORD");
    let weak = c
        .users
        .change_password(bearer(
            pb::ChangePasswordRequest { current_password: PASSWORD.into(), new_password: "short".into() },
            &a.access_token,
        ))
        .await;
    assert_eq!(code(weak), "VALIDATION_ERROR");

    c.users
        .change_password(bearer(
            pb::ChangePasswordRequest {
                current_password: PASSWORD.into(),
                new_password: "a new password".into(),
            },
            &a.access_token,
        ))
        .await
        .unwrap();
    c.me(&a.access_token).await.unwrap();
    assert_eq!(code(c.me(&b.access_token).await), "TOKEN_REVOKED");
    assert_eq!(code(c.refresh(&b.refresh_token).await), "SESSION_REVOKED");
    c.refresh(&a.refresh_token).await.unwrap();

    let old = c.auth.login(pb::LoginRequest { email: user.email.clone(), password: PASSWORD.into() }).await;
    assert_eq!(code(old), "INVALID_CREDENTIALS");
    c.auth
        .login(pb::LoginRequest { email: user.email.clone(), password: "a new password".into() })
        .await
        .unwrap();
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revocations_reach_other_replicas_and_watchers_within_a_second() {
    let app = TestApp::spawn().await;
    let mut c = app.clients();
    let replica = app.spawn_auth_replica(Arc::new(CapturingMailer::default())).await;
    let mut r = app.clients().with_auth_at(replica.addr);

    // A watcher (as tenancy and work run it) sees a snapshot first.
    let (_, earlier) = c.user_with_tokens("earlier").await;
    c.auth.logout(bearer(pb::LogoutRequest { refresh_token: None }, &earlier.access_token)).await.unwrap();
    let mut stream = c
        .auth_internal
        .watch_revoked_sessions(pb::WatchRevokedSessionsRequest {})
        .await
        .unwrap()
        .into_inner();
    let first = stream.next().await.unwrap().unwrap();
    assert!(first.snapshot);
    assert_eq!(first.sessions.len(), 1);
    let forget_after = first.sessions[0].forget_after.unwrap().seconds;
    assert!(forget_after > chrono::Utc::now().timestamp() + 800, "kept for about the access TTL");

    let (_, pair) = c.user_with_tokens("instant").await;
    r.me(&pair.access_token).await.unwrap();
    let sid = {
        let payload = pair.access_token.split('.').nth(1).unwrap();
        use base64::Engine;
        let claims: serde_json::Value = serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).unwrap(),
        )
        .unwrap();
        claims["sid"].as_str().unwrap().to_owned()
    };

    let started = tokio::time::Instant::now();
    c.auth.logout(bearer(pb::LogoutRequest { refresh_token: None }, &pair.access_token)).await.unwrap();
    let seen = eventually(Duration::from_secs(1), || {
        let mut r = r.clone();
        let token = pair.access_token.clone();
        async move { r.me(&token).await.is_err() }
    })
    .await;
    assert!(seen, "the replica did not see the logout within 1 s");
    assert_eq!(code(r.me(&pair.access_token).await), "TOKEN_REVOKED");

    // Delivery is at-least-once: the earlier revocation may come again after the snapshot, so
    // wait for the event that names this session, skipping others.
    let event = tokio::time::timeout(Duration::from_secs(1), async {
        loop {
            let event = stream.next().await.unwrap().unwrap();
            assert!(!event.snapshot);
            if event.sessions.iter().any(|s| s.session_id == sid) {
                return event;
            }
        }
    })
    .await
    .expect("the watcher did not see the logout within 1 s");
    assert!(event.sessions.iter().any(|s| s.session_id == sid));
    assert!(started.elapsed() < Duration::from_secs(2));
    app.shutdown().await;
}
