//! Email verification and password reset: links go through the mailer, tokens are single-use,
//! expire and are stored hashed; reset requests never reveal whether an account exists.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use operant_auth::EmailKind;
use operant_proto::auth::v1 as pb;
use operant_testkit::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn email_verification_is_single_use_and_expires() {
    let app = TestApp::spawn().await;
    let mailer = CapturingMailer::default();
    let replica = app.spawn_auth_replica(Arc::new(mailer.clone())).await;
    let mut c = app.clients().with_auth_at(replica.addr);
    let (user, pair) = c.user_with_tokens("verify").await;

    c.auth
        .request_email_verification(bearer(pb::RequestEmailVerificationRequest {}, &pair.access_token))
        .await
        .unwrap();
    let email = mailer.wait_for(1).await;
    assert_eq!(email.kind, EmailKind::VerifyEmail);
    assert_eq!(email.to, user.email);
    assert!(email.link.starts_with("http://localhost:8000/verify-email?token="), "{}", email.link);
    let token = email.token().unwrap().to_owned();
    // Only the hash is stored.
    let stored: i64 = app
        .sql()
        .await
        .query_one(
            "SELECT count(*) FROM one_time_tokens WHERE token_hash = sha256($1::text::bytea)",
            &[&token],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(stored, 1);

    let auth = c.auth.clone();
    let confirm = |token: String| {
        let mut auth = auth.clone();
        async move { auth.confirm_email_verification(pb::ConfirmEmailVerificationRequest { token }).await }
    };
    let verified = confirm(token.clone()).await.unwrap().into_inner().user.unwrap();
    assert!(verified.email_verified);
    assert_eq!(code(confirm(token).await), "INVALID_TOKEN");
    assert_eq!(code(confirm("made-up".into()).await), "INVALID_TOKEN");
    assert_eq!(code(confirm(String::new()).await), "VALIDATION_ERROR");

    // Expired links are refused.
    let (_, other) = c.user_with_tokens("late").await;
    c.auth
        .request_email_verification(bearer(pb::RequestEmailVerificationRequest {}, &other.access_token))
        .await
        .unwrap();
    let late = mailer.wait_for(2).await.token().unwrap().to_owned();
    app.sql()
        .await
        .execute("UPDATE one_time_tokens SET expires_at = now() - interval '1 second'", &[])
        .await
        .unwrap();
    assert_eq!(code(confirm(late).await), "ONE_TIME_TOKEN_EXPIRED");
    // An already verified user gets no new email: the next email sent (the request is answered
    // after its email is handed to the mailer) is the next unverified user's.
    c.auth
        .request_email_verification(bearer(pb::RequestEmailVerificationRequest {}, &pair.access_token))
        .await
        .unwrap();
    let (next, next_pair) = c.user_with_tokens("next").await;
    c.auth
        .request_email_verification(bearer(pb::RequestEmailVerificationRequest {}, &next_pair.access_token))
        .await
        .unwrap();
    assert_eq!(mailer.wait_for(3).await.to, next.email);
    assert_eq!(mailer.messages().len(), 3);
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_reset_sets_the_password_and_ends_every_session() {
    let app = TestApp::spawn().await;
    let mailer = CapturingMailer::default();
    let replica = app.spawn_auth_replica(Arc::new(mailer.clone())).await;
    let mut c = app.clients().with_auth_at(replica.addr);
    let (user, pair) = c.user_with_tokens("reset").await;

    // Unknown accounts get the same answer and no email.
    c.auth
        .request_password_reset(pb::RequestPasswordResetRequest { email: unique_email("ghost") })
        .await
        .unwrap();
    c.auth
        .request_password_reset(pb::RequestPasswordResetRequest { email: user.email.to_uppercase() })
        .await
        .unwrap();
    let email = mailer.wait_for(1).await;
    assert_eq!(mailer.messages().len(), 1);
    assert_eq!(email.kind, EmailKind::ResetPassword);
    assert!(email.link.starts_with("http://localhost:8000/reset-password?token="));
    let token = email.token().unwrap().to_owned();

    let auth = c.auth.clone();
    let confirm = |token: String, password: &str| {
        let mut auth = auth.clone();
        let new_password = password.to_owned();
        async move { auth.confirm_password_reset(pb::ConfirmPasswordResetRequest { token, new_password }).await }
    };
    assert_eq!(code(confirm(token.clone(), "short").await), "VALIDATION_ERROR");
    confirm(token.clone(), "brand new password").await.unwrap();
    assert_eq!(code(confirm(token, "another new password").await), "INVALID_TOKEN");

    // Every session ended; the new password works, the old one does not.
    assert_eq!(code(c.me(&pair.access_token).await), "TOKEN_REVOKED");
    assert_eq!(code(c.refresh(&pair.refresh_token).await), "SESSION_REVOKED");
    let old = c.auth.login(pb::LoginRequest { email: user.email.clone(), password: PASSWORD.into() }).await;
    assert_eq!(code(old), "INVALID_CREDENTIALS");
    c.auth
        .login(pb::LoginRequest { email: user.email.clone(), password: "brand new password".into() })
        .await
        .unwrap();

    // Expired reset links are refused.
    c.auth
        .request_password_reset(pb::RequestPasswordResetRequest { email: user.email.clone() })
        .await
        .unwrap();
    let late = mailer.wait_for(2).await.token().unwrap().to_owned();
    app.sql()
        .await
        .execute("UPDATE one_time_tokens SET expires_at = now() - interval '1 second'", &[])
        .await
        .unwrap();
    assert_eq!(code(confirm(late, "yet another password").await), "ONE_TIME_TOKEN_EXPIRED");
    app.shutdown().await;
}
