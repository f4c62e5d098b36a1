//! Login throttling: counters are atomic in PostgreSQL, so parallel attempts cannot slip past
//! the limits (5 failures per email, 20 per client address, per 15 minutes).
#![allow(clippy::unwrap_used)]

use operant_proto::auth::v1 as pb;
use operant_testkit::*;
use tonic_types::StatusExt;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_parallel_wrong_passwords_let_only_five_through() {
    let app = TestApp::spawn().await;
    let mut c = app.clients();
    let email = unique_email("victim");
    c.register(&email).await;

    let attempts = (0..20).map(|_| {
        let mut auth = c.auth.clone();
        let email = email.clone();
        async move { auth.login(pb::LoginRequest { email, password: "wrong password".into() }).await }
    });
    let results = futures::future::join_all(attempts).await;
    let mut codes: Vec<String> = Vec::new();
    let mut retry = None;
    for r in results {
        let status = r.unwrap_err();
        if status.code() == tonic::Code::ResourceExhausted {
            retry = status.get_error_details().retry_info().and_then(|i| i.retry_delay);
        }
        codes.push(operant_platform::error::error_code_of(&status).unwrap());
    }
    assert_eq!(codes.iter().filter(|c| *c == "INVALID_CREDENTIALS").count(), 5, "{codes:?}");
    assert_eq!(codes.iter().filter(|c| *c == "TOO_MANY_ATTEMPTS").count(), 15, "{codes:?}");
    let retry = retry.expect("RetryInfo on 429");
    assert!(
        retry > std::time::Duration::from_secs(800) && retry <= std::time::Duration::from_secs(900),
        "{retry:?}"
    );

    // Even the right password is refused now (the account is locked for the window).
    let locked = c.auth.login(pb::LoginRequest { email: email.clone(), password: PASSWORD.into() }).await;
    assert_eq!(code(locked), "TOO_MANY_ATTEMPTS");

    // Once the window has passed, the right password works and resets the counter.
    app.sql()
        .await
        .execute("UPDATE login_attempts SET window_start = now() - interval '16 minutes'", &[])
        .await
        .unwrap();
    c.login(&email).await;
    let row = app
        .sql()
        .await
        .query_opt(
            "SELECT failures FROM login_attempts WHERE throttle_key = $1",
            &[&format!("email:{email}")],
        )
        .await
        .unwrap();
    assert!(row.is_none(), "a successful login resets the email counter");
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_address_is_limited_across_accounts_but_successes_do_not_count() {
    let app = TestApp::spawn().await;
    let mut c = app.clients();
    let email = unique_email("regular");
    c.register(&email).await;
    // Successful logins never use up the address budget.
    for _ in 0..25 {
        c.login(&email).await;
    }
    // 20 failures on different (unknown) accounts from one address, then the 21st is refused.
    for i in 0..20 {
        let r = c
            .auth
            .login(pb::LoginRequest { email: unique_email(&format!("u{i}")), password: "nope nope".into() })
            .await;
        assert_eq!(code(r), "INVALID_CREDENTIALS");
    }
    let r =
        c.auth.login(pb::LoginRequest { email: unique_email("last"), password: "nope nope".into() }).await;
    assert_eq!(code(r), "TOO_MANY_ATTEMPTS");
    app.shutdown().await;
}
