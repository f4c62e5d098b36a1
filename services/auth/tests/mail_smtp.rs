//! Mail through a real SMTP server on loopback (aiosmtpd, the kit's `smtp::Smtp`; CI
//! installs it in `target/tools/mail/venv`): the verification mail arrives with both bodies, its
//! Message-ID and sender, and its link verifies the address; a reset requested while the server
//! is down succeeds at once and its mail arrives once the server is back; two replicas deliver
//! each mail of a shared outbox exactly once; a permanent rejection (550) fails the mail after
//! three attempts.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use operant_platform::config::{MailConfig, MailMode, Settings};
use operant_proto::auth::v1 as pb;
use operant_testkit::smtp::{FROM, Smtp};
use operant_testkit::*;

fn token_of(text: &str, path: &str) -> String {
    let start = text.find(&format!("/{path}?token=")).unwrap_or_else(|| panic!("no {path} link in {text}"));
    let rest = &text[start + path.len() + 8..];
    rest.split(|c: char| c.is_whitespace() || c == '"' || c == '<' || c == '&').next().unwrap().to_owned()
}

async fn outbox_state(app: &TestApp) -> (i64, i64, i64) {
    let row = app
        .sql()
        .await
        .query_one(
            "SELECT count(*) FILTER (WHERE sent_at IS NULL), count(*) FILTER (WHERE sent_at IS NOT NULL), \
             coalesce(min(attempts) FILTER (WHERE sent_at IS NULL), 0)::bigint FROM mail_outbox",
            &[],
        )
        .await
        .unwrap();
    (row.get(0), row.get(1), row.get(2))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mail_reaches_a_real_smtp_server_and_survives_its_outage() {
    let mut smtp = Smtp::start().await;
    let app = TestApp::spawn_with(|s| smtp.configure(s)).await;
    let mut c = app.clients();
    let (user, pair) = c.user_with_tokens("smtp").await;

    // Verification: the mail arrives with both bodies, a Message-ID and our sender.
    c.auth
        .request_email_verification(bearer(pb::RequestEmailVerificationRequest {}, &pair.access_token))
        .await
        .unwrap();
    let mail = smtp.wait_for(1, Duration::from_secs(10)).await;
    assert_eq!(mail["from"], FROM);
    assert_eq!(mail["rcpt_tos"][0], user.email.as_str());
    assert_eq!(mail["subject"], "Verify your email address");
    assert_eq!(mail["content_type"], "multipart/alternative");
    let (text, html) = (mail["text"].as_str().unwrap(), mail["html"].as_str().unwrap());
    assert!(text.contains("Operant") && text.contains("24 hours"), "{text}");
    assert!(html.contains("<a href=\"http://localhost:8000/verify-email?token="), "{html}");
    let id: String = app.sql().await.query_one("SELECT id::text FROM mail_outbox", &[]).await.unwrap().get(0);
    assert_eq!(mail["message_id"], format!("<{id}@operant.test>"));
    let token = token_of(text, "verify-email");
    assert_eq!(token, token_of(html, "verify-email"));
    // Sent: the sealed body (with its link) is gone from the table.
    let body: Option<Vec<u8>> =
        app.sql().await.query_one("SELECT body FROM mail_outbox", &[]).await.unwrap().get(0);
    assert!(body.is_none());
    let verified = c
        .auth
        .confirm_email_verification(pb::ConfirmEmailVerificationRequest { token })
        .await
        .unwrap()
        .into_inner()
        .user
        .unwrap();
    assert!(verified.email_verified);

    // The server goes down: the reset request still succeeds at once, the mail waits.
    smtp.stop().await;
    let started = Instant::now();
    c.auth
        .request_password_reset(pb::RequestPasswordResetRequest { email: user.email.clone() })
        .await
        .unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "the request waited for SMTP: {:?}",
        started.elapsed()
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (pending, _, attempts) = outbox_state(&app).await;
        if pending == 1 && attempts >= 1 {
            break;
        }
        assert!(Instant::now() < deadline, "no failed delivery attempt was recorded");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (stored, last_error): (Vec<u8>, Option<String>) = {
        let row = app
            .sql()
            .await
            .query_one("SELECT body, last_error FROM mail_outbox WHERE sent_at IS NULL", &[])
            .await
            .unwrap();
        (row.get(0), row.get(1))
    };
    assert!(stored.starts_with(b"OPSL"), "the pending body is sealed");
    assert!(last_error.is_some(), "the failure is recorded");
    assert_eq!(smtp.messages().len(), 1);

    // Back up: the worker's retry delivers it; its link resets the password.
    smtp.restart().await;
    let mail = smtp.wait_for(2, Duration::from_secs(30)).await;
    assert_eq!(mail["subject"], "Reset your password");
    let token = token_of(mail["text"].as_str().unwrap(), "reset-password");
    c.auth
        .confirm_password_reset(pb::ConfirmPasswordResetRequest {
            token,
            new_password: "mailed new password".into(),
        })
        .await
        .unwrap();
    c.auth
        .login(pb::LoginRequest { email: user.email.clone(), password: "mailed new password".into() })
        .await
        .unwrap();
    assert_eq!(outbox_state(&app).await.0, 0);
    smtp.stop().await;
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_send_each_mail_once() {
    let mut smtp = Smtp::start().await;
    let app = TestApp::spawn_with(|s| smtp.configure(s)).await;
    let mut settings = app.settings.as_ref().clone();
    smtp.configure(&mut settings);
    let replica =
        app.spawn_auth_replica_with(settings.clone(), operant_auth::mailer_for(&settings).unwrap()).await;
    let mut here = app.clients();
    let mut there = app.clients().with_auth_at(replica.addr);

    // With the server down every mail goes to retry, so both workers then race for all of them.
    smtp.stop().await;
    const N: usize = 12;
    for i in 0..N {
        let c = if i % 2 == 0 { &mut here } else { &mut there };
        let (user, _) = c.user_with_tokens(&format!("once{i}")).await;
        c.auth.request_password_reset(pb::RequestPasswordResetRequest { email: user.email }).await.unwrap();
    }
    let deadline = Instant::now() + Duration::from_secs(15);
    while outbox_state(&app).await.2 < 1 {
        assert!(Instant::now() < deadline, "the workers did not try every mail");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    smtp.restart().await;
    smtp.wait_for(N, Duration::from_secs(40)).await;
    // Give a duplicate time to show up.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let messages = smtp.messages();
    assert_eq!(messages.len(), N, "each mail is sent once");
    let mut ids: Vec<_> = messages.iter().map(|m| m["message_id"].as_str().unwrap().to_owned()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), N);
    assert_eq!(outbox_state(&app).await, (0, N as i64, 0));
    smtp.stop().await;
    drop(replica);
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_permanent_rejection_fails_the_mail_after_three_attempts() {
    let smtp = Smtp::start().await;
    let app = TestApp::spawn_with(|s| smtp.configure(s)).await;
    let mut c = app.clients();
    let (user, _) = c.user_with_tokens("rejected").await;
    c.auth.request_password_reset(pb::RequestPasswordResetRequest { email: user.email }).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let row = loop {
        let row = app
            .sql()
            .await
            .query_one(
                "SELECT attempts, failed_at IS NOT NULL, body IS NULL, last_error FROM mail_outbox",
                &[],
            )
            .await
            .unwrap();
        if row.get::<_, bool>(1) {
            break row;
        }
        assert!(Instant::now() < deadline, "the rejected mail was not given up");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(row.get::<_, i32>(0), 3);
    assert!(row.get::<_, bool>(2), "the sealed body is dropped");
    let last_error: String = row.get(3);
    assert!(last_error.contains("550"), "{last_error}");
    assert!(smtp.messages().is_empty());
    app.shutdown().await;
}

#[test]
fn production_needs_smtp_unless_mail_is_disabled() {
    let mut s = Settings::for_tests("postgres://unused");
    s.environment = operant_platform::config::Environment::Production;
    s.service_token = "a-production-service-token-of-40-characters".into();
    s.tokens.bcrypt_cost = 10;
    let err = s.validate().unwrap_err().to_string();
    assert!(err.contains("OPERANT_SMTP_URL") && err.contains("OPERANT_MAIL=disabled"), "{err}");
    s.mail.mode = MailMode::Disabled;
    s.validate().unwrap();
    s.mail = MailConfig {
        mode: MailMode::Smtp,
        smtp_url: Some("smtps://user:hunter2-secret@smtp.example.org".into()),
        from: FROM.into(),
    };
    s.validate().unwrap();
    // Neither the settings' Debug nor the mailer's shows the password.
    assert!(!format!("{s:?}").contains("hunter2"));
    operant_auth::mailer_for(&s).unwrap();
    s.mail.mode = MailMode::Smtp;
    s.mail.smtp_url = None;
    assert!(s.validate().unwrap_err().to_string().contains("OPERANT_MAIL=smtp needs OPERANT_SMTP_URL"));
    s.mail.smtp_url = Some("smtp://user:hunter2-secret@relay.example.org?tls=none".into());
    let err = operant_auth::mailer_for(&s).err().unwrap().to_string();
    assert!(err.contains("in the clear") && !err.contains("hunter2"), "{err}");
}
