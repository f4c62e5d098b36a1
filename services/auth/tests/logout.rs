//! Logout, session listing and revocation, password change — and that every revocation is
//! seen at once by the verifiers (this process, another replica, and WatchRevokedSessions).
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use futures::StreamExt;
use operant_proto::auth::v1 as pb;
use operant_testkit::TestApp;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logout_by_access_token_and_by_refresh_token() {
    let app = TestApp::spawn().await;
    let mut c = clients(&app).await;
    let (user, a) = user_with_tokens(&mut c, "logout").await;
    let b = login(&mut c, &user.email).await;

    // By the caller's access token.
    c.auth.logout(bearer(pb::LogoutRequest { refresh_token: None }, &a.access_token)).await.unwrap();
    assert_eq!(code(me(&mut c, &a.access_token).await), "TOKEN_REVOKED");
    // Idempotent: logging out again with the same (now revoked) access token still succeeds.
    c.auth.logout(bearer(pb::LogoutRequest { refresh_token: None }, &a.access_token)).await.unwrap();
    assert_eq!(code(refresh(&mut c, &a.refresh_token).await), "SESSION_REVOKED");
    // Session b is untouched.
    me(&mut c, &b.access_token).await.unwrap();

    // By refresh token, without any access token; twice (idempotent), and with an unknown one.
    for _ in 0..2 {
        c.auth.logout(pb::LogoutRequest { refresh_token: Some(b.refresh_token.clone()) }).await.unwrap();
    }
    // A well-formed but unknown token is fine (nothing to end); a malformed one is refused.
    let unknown = format!("ort_{}", "A".repeat(43));
    c.auth.logout(pb::LogoutRequest { refresh_token: Some(unknown) }).await.unwrap();
    let malformed = c.auth.logout(pb::LogoutRequest { refresh_token: Some("ort_unknown".into()) }).await;
    assert_eq!(code(malformed), "INVALID_REFRESH_TOKEN");
    assert_eq!(code(me(&mut c, &b.access_token).await), "TOKEN_REVOKED");
    // Neither kind of token: 401.
    assert_eq!(code(c.auth.logout(pb::LogoutRequest { refresh_token: None }).await), "TOKEN_MISSING");
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_are_listed_and_revoked() {
    let app = TestApp::spawn().await;
    let mut c = clients(&app).await;
    let (user, a) = user_with_tokens(&mut c, "sessions").await;
    let b = login(&mut c, &user.email).await;
    let (_, stranger) = user_with_tokens(&mut c, "stranger").await;

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
    assert_eq!(code(me(&mut c, &b.access_token).await), "TOKEN_REVOKED");
    assert_eq!(list(&mut c, a.access_token.clone()).await.len(), 1);
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_change_revokes_every_other_session() {
    let app = TestApp::spawn().await;
    let mut c = clients(&app).await;
    let (user, a) = user_with_tokens(&mut c, "pwchange").await;
    let b = login(&mut c, &user.email).await;

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
    me(&mut c, &a.access_token).await.unwrap();
    assert_eq!(code(me(&mut c, &b.access_token).await), "TOKEN_REVOKED");
    assert_eq!(code(refresh(&mut c, &b.refresh_token).await), "SESSION_REVOKED");
    refresh(&mut c, &a.refresh_token).await.unwrap();

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
    let mut c = clients(&app).await;
    let replica = spawn_replica(&app, Arc::new(CapturingMailer::default())).await;
    let mut r = clients_at(replica.addr, &app.settings.service_token).await;

    // A watcher (as tenancy and work run it) sees a snapshot first.
    let (_, earlier) = user_with_tokens(&mut c, "earlier").await;
    c.auth.logout(bearer(pb::LogoutRequest { refresh_token: None }, &earlier.access_token)).await.unwrap();
    let mut stream =
        c.internal.watch_revoked_sessions(pb::WatchRevokedSessionsRequest {}).await.unwrap().into_inner();
    let first = stream.next().await.unwrap().unwrap();
    assert!(first.snapshot);
    assert_eq!(first.sessions.len(), 1);
    let forget_after = first.sessions[0].forget_after.unwrap().seconds;
    assert!(forget_after > chrono::Utc::now().timestamp() + 800, "kept for about the access TTL");

    let (_, pair) = user_with_tokens(&mut c, "instant").await;
    me(&mut r, &pair.access_token).await.unwrap();
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
        let mut r = clients_at_cached(&r);
        let token = pair.access_token.clone();
        async move { me(&mut r, &token).await.is_err() }
    })
    .await;
    assert!(seen, "the replica did not see the logout within 1 s");
    assert_eq!(code(me(&mut r, &pair.access_token).await), "TOKEN_REVOKED");

    let event = tokio::time::timeout(Duration::from_secs(1), stream.next()).await.unwrap().unwrap().unwrap();
    assert!(!event.snapshot);
    assert_eq!(event.sessions[0].session_id, sid);
    assert!(started.elapsed() < Duration::from_secs(2));
    app.shutdown().await;
}

fn clients_at_cached(c: &Clients) -> Clients {
    Clients { auth: c.auth.clone(), users: c.users.clone(), internal: c.internal.clone() }
}
