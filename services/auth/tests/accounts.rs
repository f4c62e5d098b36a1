//! Registration, login, the caller's profile and the internal user look-ups, through gRPC.
#![allow(clippy::unwrap_used)]

use operant_proto::auth::v1 as pb;
use operant_testkit::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn register_login_and_me() {
    let app = TestApp::spawn().await;
    let mut c = app.clients();
    let email = unique_email("Ann");
    let user = c
        .auth
        .register(pb::RegisterRequest {
            request_id: String::new(),
            email: format!("  {}  ", email.to_uppercase()),
            password: PASSWORD.into(),
            full_name: Some(" Ann Example ".into()),
        })
        .await
        .unwrap()
        .into_inner()
        .user
        .unwrap();
    assert_eq!(user.email, email.to_lowercase());
    assert_eq!(user.full_name.as_deref(), Some("Ann Example"));
    assert!(!user.email_verified);
    assert!(user.is_active);
    assert!(user.created_at.is_some());

    let tokens = c.login(&email.to_uppercase()).await;
    assert_eq!(tokens.token_type, "bearer");
    assert_eq!(tokens.expires_in, 900);
    assert_eq!(tokens.refresh_expires_in, 604_800);
    assert!(tokens.refresh_token.starts_with("ort_"));
    assert_eq!(tokens.access_token.split('.').count(), 3);

    let me_ = c.me(&tokens.access_token).await.unwrap();
    assert_eq!(me_.id, user.id);

    let updated = c
        .users
        .update_current_user(bearer(
            pb::UpdateCurrentUserRequest { full_name: Some("Ann B. Example".into()) },
            &tokens.access_token,
        ))
        .await
        .unwrap()
        .into_inner()
        .user
        .unwrap();
    assert_eq!(updated.full_name.as_deref(), Some("Ann B. Example"));
    // Unset fields stay unchanged.
    let same = c
        .users
        .update_current_user(bearer(pb::UpdateCurrentUserRequest { full_name: None }, &tokens.access_token))
        .await
        .unwrap()
        .into_inner()
        .user
        .unwrap();
    assert_eq!(same.full_name.as_deref(), Some("Ann B. Example"));
    let too_long = c
        .users
        .update_current_user(bearer(
            pb::UpdateCurrentUserRequest { full_name: Some("x".repeat(201)) },
            &tokens.access_token,
        ))
        .await;
    assert_eq!(code(too_long), "VALIDATION_ERROR");

    // Without a token.
    assert_eq!(code(c.users.get_current_user(pb::GetCurrentUserRequest {}).await), "TOKEN_MISSING");
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registration_validates_and_refuses_taken_emails() {
    let app = TestApp::spawn().await;
    let mut c = app.clients();
    let reg = |email: &str, password: &str| pb::RegisterRequest {
        request_id: String::new(),
        email: email.into(),
        password: password.into(),
        full_name: None,
    };

    let long = c.auth.register(reg("long@example.com", &"x".repeat(73))).await.unwrap_err();
    assert_eq!(operant_platform::error::error_code_of(&long).as_deref(), Some("VALIDATION_ERROR"));
    assert_eq!(long.code(), tonic::Code::InvalidArgument);
    assert!(long.message().contains("password"), "{}", long.message());
    use tonic_types::StatusExt;
    let fields: Vec<_> = long
        .get_error_details()
        .bad_request()
        .unwrap()
        .field_violations
        .iter()
        .map(|v| v.field.clone())
        .collect();
    assert_eq!(fields, ["password"]);
    // 72 bytes exactly is fine, and is not truncated: a 73rd byte would not log in.
    let exact = "y".repeat(72);
    c.auth.register(reg("exact@example.com", &exact)).await.unwrap();
    c.auth
        .login(pb::LoginRequest { email: "exact@example.com".into(), password: exact.clone() })
        .await
        .unwrap();
    let longer = c
        .auth
        .login(pb::LoginRequest { email: "exact@example.com".into(), password: format!("{exact}y") })
        .await;
    assert_eq!(code(longer), "INVALID_CREDENTIALS");

    assert_eq!(code(c.auth.register(reg("short@example.com", "short")).await), "VALIDATION_ERROR");
    let bad = c.auth.register(reg("not-an-email", "x")).await.unwrap_err();
    let fields: Vec<_> = bad
        .get_error_details()
        .bad_request()
        .unwrap()
        .field_violations
        .iter()
        .map(|v| v.field.clone())
        .collect();
    assert_eq!(fields, ["email", "password"]);

    c.auth.register(reg("taken@example.com", PASSWORD)).await.unwrap();
    assert_eq!(code(c.auth.register(reg(" TAKEN@Example.com ", PASSWORD)).await), "EMAIL_TAKEN");
    let taken = c.auth.register(reg("taken@example.com", PASSWORD)).await.unwrap_err();
    assert_eq!(taken.code(), tonic::Code::AlreadyExists);

    // Racing registrations of one email: exactly one wins.
    let attempts = (0..8).map(|_| {
        let mut auth = c.auth.clone();
        async move { auth.register(reg("race@example.com", PASSWORD)).await }
    });
    let results = futures::future::join_all(attempts).await;
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1);
    for r in results.into_iter().filter(|r| r.is_err()) {
        assert_eq!(code(r), "EMAIL_TAKEN");
    }
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_credentials_are_indistinguishable_and_inactive_users_are_refused() {
    let app = TestApp::spawn().await;
    let mut c = app.clients();
    let email = unique_email("bob");
    c.register(&email).await;

    let wrong =
        c.auth.login(pb::LoginRequest { email: email.clone(), password: "wrong password".into() }).await;
    let unknown = c
        .auth
        .login(pb::LoginRequest { email: unique_email("nobody"), password: "wrong password".into() })
        .await;
    let (wrong, unknown) = (wrong.unwrap_err(), unknown.unwrap_err());
    assert_eq!(wrong.code(), unknown.code());
    assert_eq!(wrong.message(), unknown.message());
    assert_eq!(error_code_of(&wrong), error_code_of(&unknown));
    assert_eq!(error_code_of(&wrong).as_deref(), Some("INVALID_CREDENTIALS"));

    let tokens = c.login(&email).await;
    app.sql().await.execute("UPDATE users SET is_active = false WHERE email = $1", &[&email]).await.unwrap();
    let inactive = c.auth.login(pb::LoginRequest { email: email.clone(), password: PASSWORD.into() }).await;
    assert_eq!(code(inactive), "INACTIVE_USER");
    assert_eq!(code(c.refresh(&tokens.refresh_token).await), "INACTIVE_USER");
    app.shutdown().await;
}

use operant_platform::error::error_code_of;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn internal_lookups_need_the_service_token() {
    let app = TestApp::spawn().await;
    let mut c = app.clients();
    let (user, tokens) = c.user_with_tokens("carol").await;

    let found = c
        .auth_internal
        .get_users(pb::GetUsersRequest { user_ids: vec![user.id.clone(), uuid::Uuid::new_v4().to_string()] })
        .await
        .unwrap()
        .into_inner()
        .users;
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].id, user.id);
    let bad = c.auth_internal.get_users(pb::GetUsersRequest { user_ids: vec!["nope".into()] }).await;
    assert_eq!(code(bad), "VALIDATION_ERROR");

    let by_email = c
        .auth_internal
        .get_user_by_email(pb::GetUserByEmailRequest { email: format!(" {} ", user.email.to_uppercase()) })
        .await
        .unwrap()
        .into_inner()
        .user
        .unwrap();
    assert_eq!(by_email.id, user.id);
    let missing =
        c.auth_internal.get_user_by_email(pb::GetUserByEmailRequest { email: unique_email("missing") }).await;
    assert_eq!(code(missing), "USER_NOT_FOUND");

    // An end user (even with a valid access token) cannot call internal RPCs.
    let mut plain = operant_proto::auth::v1::auth_internal_service_client::AuthInternalServiceClient::new(
        app.channel(app.auth_addr).await,
    );
    let refused = plain
        .get_users(bearer(pb::GetUsersRequest { user_ids: vec![user.id.clone()] }, &tokens.access_token))
        .await;
    assert_eq!(code(refused), "SERVICE_ONLY");
    let keys = plain
        .list_signing_keys(with_service_token(pb::ListSigningKeysRequest {}, &app.settings.service_token))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(keys.keys.len(), 1);
    assert_eq!(keys.keys[0].public_key.len(), 32);
    assert_eq!(keys.issuer, "operant");
    assert_eq!(keys.audience, "operant-api");
    app.shutdown().await;
}
