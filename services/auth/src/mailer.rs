//! Outgoing email. The domain writes each mail to the `mail_outbox` table in the transaction
//! that creates its token ([`write`]); the outbox worker of `operant-mail` hands it to a
//! [`Mailer`] after the commit: [`SmtpMail`] in real deployments, [`LogMailer`] in development
//! (it logs the link) or when mail is disabled, a capturing one in tests. A mailer error leaves
//! the mail in the outbox, retried with backoff.

use std::sync::Arc;

use diesel_async::AsyncPgConnection;
use futures::future::BoxFuture;
use operant_mail::{ActionMail, Deliver, DeliveryError, Mail, NewMail, render_action};
use uuid::Uuid;

/// What an email is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmailKind {
    /// Link to `{public_url}/verify-email?token=...`.
    VerifyEmail,
    /// Link to `{public_url}/reset-password?token=...`.
    ResetPassword,
}

impl EmailKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EmailKind::VerifyEmail => "verify_email",
            EmailKind::ResetPassword => "reset_password",
        }
    }

    fn parse(kind: &str) -> Option<Self> {
        [EmailKind::VerifyEmail, EmailKind::ResetPassword].into_iter().find(|k| k.as_str() == kind)
    }
}

/// One message.
#[derive(Clone)]
pub struct Email {
    /// The outbox row (the `Message-ID` is `<{id}@{from domain}>`).
    pub id: Uuid,
    pub to: String,
    pub kind: EmailKind,
    pub subject: String,
    /// The plain-text body.
    pub body: String,
    pub html: String,
    /// The link the user follows (it carries the single-use token).
    pub link: String,
}

impl std::fmt::Debug for Email {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Bodies and link carry the token.
        f.debug_struct("Email").field("id", &self.id).field("kind", &self.kind).finish_non_exhaustive()
    }
}

impl Email {
    /// The `token` query parameter of the link.
    pub fn token(&self) -> Option<&str> {
        self.link.split_once("token=").map(|(_, token)| token.split('&').next().unwrap_or(token))
    }

    fn into_mail(self) -> Mail {
        Mail {
            id: self.id,
            kind: self.kind.as_str().to_owned(),
            to: self.to,
            subject: self.subject,
            text: self.body,
            html: self.html,
            link: Some(self.link),
        }
    }
}

/// Delivers emails. An error that is a [`DeliveryError`] with `permanent` set counts as a
/// permanent rejection; any other error is retried.
pub trait Mailer: Send + Sync + 'static {
    fn send(&self, message: Email) -> BoxFuture<'_, anyhow::Result<()>>;
}

/// The mailer used when no mail transport is configured: in development and tests it logs the
/// recipient and the link (which carries a single-use token) at info level, so the flows can be
/// followed by hand; in production (`OPERANT_MAIL=disabled`) it never logs the link, only that
/// nothing was delivered.
#[derive(Debug, Default, Clone, Copy)]
pub struct LogMailer {
    /// Whether the link may be written to the log (never in production).
    pub reveal_links: bool,
}

impl Mailer for LogMailer {
    fn send(&self, message: Email) -> BoxFuture<'_, anyhow::Result<()>> {
        let reveal = self.reveal_links;
        Box::pin(async move {
            if reveal {
                tracing::info!(to = %message.to, kind = ?message.kind, link = %message.link, "email (development mailer: not sent)");
            } else {
                tracing::warn!(kind = ?message.kind, "mail is disabled (OPERANT_MAIL=disabled): an email was not delivered");
            }
            Ok(())
        })
    }
}

/// Real delivery over SMTP (`OPERANT_SMTP_URL`).
#[derive(Debug, Clone)]
pub struct SmtpMail(pub operant_mail::SmtpMailer);

impl Mailer for SmtpMail {
    fn send(&self, message: Email) -> BoxFuture<'_, anyhow::Result<()>> {
        Box::pin(async move { Ok(self.0.send(&message.into_mail()).await?) })
    }
}

/// The bridge from the outbox worker to a [`Mailer`].
pub struct Delivery(pub Arc<dyn Mailer>);

impl Deliver for Delivery {
    fn deliver<'a>(&'a self, mail: &'a Mail) -> BoxFuture<'a, Result<(), DeliveryError>> {
        Box::pin(async move {
            let kind = EmailKind::parse(&mail.kind)
                .ok_or_else(|| DeliveryError::permanent(format!("unknown mail kind {:?}", mail.kind)))?;
            let email = Email {
                id: mail.id,
                to: mail.to.clone(),
                kind,
                subject: mail.subject.clone(),
                body: mail.text.clone(),
                html: mail.html.clone(),
                link: mail.link.clone().unwrap_or_default(),
            };
            self.0.send(email).await.map_err(|e| match e.downcast::<DeliveryError>() {
                Ok(delivery) => delivery,
                Err(other) => DeliveryError::transient(format!("{other:#}")),
            })
        })
    }
}

/// Renders the mail of `kind` for `link` and writes it to the outbox in the caller's
/// transaction; returns the row id (hand it to the worker after the commit).
pub async fn write(
    conn: &mut AsyncPgConnection,
    outbox: &operant_mail::Outbox,
    to: &str,
    kind: EmailKind,
    link: String,
) -> anyhow::Result<Uuid> {
    let (subject, intro, action, expires_in) = match kind {
        EmailKind::VerifyEmail => (
            "Verify your email address",
            "Confirm the email address of your Operant account.",
            "Verify email address",
            "24 hours",
        ),
        EmailKind::ResetPassword => (
            "Reset your password",
            "Someone asked to reset the password of your Operant account.",
            "Set a new password",
            "1 hour",
        ),
    };
    let (text, html) = render_action(&ActionMail {
        product: "Operant",
        organization: None,
        intro,
        action,
        link: &link,
        expires_in,
    });
    let mail = NewMail {
        kind: kind.as_str().to_owned(),
        to: to.to_owned(),
        subject: subject.to_owned(),
        text,
        html,
        link: Some(link),
    };
    outbox.enqueue(conn, mail).await
}
