//! Invitation mail through a real SMTP server on loopback (aiosmtpd, the kit's `smtp::Smtp`):
//! the mail arrives with both bodies naming the product, the organization and the expiry, its
//! Message-ID and sender, and its link makes a newly registered account a member; an invitation
//! made while the server is down succeeds at once, its mail waits sealed in
//! `tenancy_mail_outbox`, arrives once the server is back, and its link works.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use operant_proto::tenancy::v1::*;
use operant_testkit::smtp::{FROM, Smtp};
use operant_testkit::*;

async fn outbox(app: &TestApp) -> (i64, i64) {
    let row = app
        .sql()
        .await
        .query_one(
            "SELECT count(*) FILTER (WHERE sent_at IS NULL), \
             coalesce(min(attempts) FILTER (WHERE sent_at IS NULL), 0)::bigint FROM tenancy_mail_outbox",
            &[],
        )
        .await
        .unwrap();
    (row.get(0), row.get(1))
}

/// `email` registers, logs in and accepts with the token of the mailed `text`.
async fn register_and_accept(h: &Clients, email: &str, text: &str) -> (User, AcceptInvitationResponse) {
    let mut c = h.clone();
    let user = c.register(email).await;
    let tokens = c.login(email).await;
    let user =
        User { id: user.id, email: user.email, access: tokens.access_token, refresh: tokens.refresh_token };
    let request = AcceptInvitationRequest { token: token_of(text) };
    let joined = h.invitations.clone().accept_invitation(as_user(request, &user)).await.unwrap().into_inner();
    (user, joined)
}

/// Waits until no mail of the outbox is left unsent (at most 5 s).
async fn wait_sent(app: &TestApp) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while outbox(app).await.0 != 0 {
        assert!(Instant::now() < deadline, "an accepted mail was not marked sent: {:?}", outbox(app).await);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invitation_mail_reaches_a_real_smtp_server_and_survives_its_outage() {
    let mut smtp = Smtp::start().await;
    let app = TestApp::spawn_with(|s| {
        smtp.configure(s);
        s.public_url = "https://app.operant.test".into();
    })
    .await;
    let h = app.clients();
    let owner = h.user("owner").await;
    let org = h.org_on(&owner, "smtp-invites", Plan::Pro).await;

    let first = unique_email("first");
    let request = CreateInvitationRequest {
        request_id: String::new(),
        organization_id: org.clone(),
        email: first.clone(),
        role: Role::Admin.into(),
    };
    h.invitations.clone().create_invitation(as_user(request, &owner)).await.unwrap();
    let mail = smtp.wait_for(1, Duration::from_secs(10)).await;
    assert_eq!(mail["from"], FROM);
    assert_eq!(mail["rcpt_tos"][0], first.as_str());
    assert_eq!(mail["subject"], "You are invited to join Org smtp-invites on Operant");
    assert_eq!(mail["content_type"], "multipart/alternative");
    let (text, html) = (mail["text"].as_str().unwrap(), mail["html"].as_str().unwrap());
    assert!(
        text.contains("Operant") && text.contains("Org smtp-invites") && text.contains("7 days"),
        "{text}"
    );
    assert!(html.contains("<a href=\"https://app.operant.test/accept-invitation?token="), "{html}");
    assert_eq!(token_of(text), token_of(html));
    let id: String =
        app.sql().await.query_one("SELECT id::text FROM tenancy_mail_outbox", &[]).await.unwrap().get(0);
    assert_eq!(mail["message_id"], format!("<{id}@operant.test>"));
    // The SMTP server has the mail as soon as it accepted it; the sender marks the row sent
    // right after, so wait (briefly) for that.
    wait_sent(&app).await;
    let body: Option<Vec<u8>> =
        app.sql().await.query_one("SELECT body FROM tenancy_mail_outbox", &[]).await.unwrap().get(0);
    assert!(body.is_none(), "the sent mail's sealed body (with its link) is gone");

    // Follow the mailed link: register, accept, member with the role, email verified.
    let (user, joined) = register_and_accept(&h, &first, text).await;
    assert_eq!(joined.member.unwrap().role(), Role::Admin);
    assert!(h.clone().me(&user.access).await.unwrap().email_verified);

    // The server goes down: inviting still succeeds at once, and the mail waits.
    smtp.stop().await;
    let second = unique_email("second");
    let started = Instant::now();
    let request = CreateInvitationRequest {
        request_id: String::new(),
        organization_id: org.clone(),
        email: second.clone(),
        role: Role::Member.into(),
    };
    h.invitations.clone().create_invitation(as_user(request, &owner)).await.unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "the request waited for SMTP: {:?}",
        started.elapsed()
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while !matches!(outbox(&app).await, (1, attempts) if attempts >= 1) {
        assert!(Instant::now() < deadline, "no failed delivery attempt was recorded");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let stored: Vec<u8> = app
        .sql()
        .await
        .query_one("SELECT body FROM tenancy_mail_outbox WHERE sent_at IS NULL", &[])
        .await
        .unwrap()
        .get(0);
    assert!(stored.starts_with(b"OPSL"), "the pending body is sealed");
    assert_eq!(smtp.messages().len(), 1);

    // Back up: the retry delivers it, and its link works.
    smtp.restart().await;
    let mail = smtp.wait_for(2, Duration::from_secs(30)).await;
    assert_eq!(mail["rcpt_tos"][0], second.as_str());
    let (user, joined) = register_and_accept(&h, &second, mail["text"].as_str().unwrap()).await;
    assert_eq!(joined.member.unwrap().user_id, user.id);
    wait_sent(&app).await;
    assert!(h.roles(&org, &owner).await.len() == 3);
    smtp.stop().await;
    app.shutdown().await;
}
