//! Outgoing email. The domain hands an [`Email`] to a [`Mailer`]; the development
//! implementation ([`LogMailer`]) only logs the link, tests capture messages with their own
//! implementation (see `run_with_mailer`). Sending happens after the transaction committed.

use futures::future::BoxFuture;

/// What an email is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmailKind {
    /// Link to `{public_url}/verify-email?token=...`.
    VerifyEmail,
    /// Link to `{public_url}/reset-password?token=...`.
    ResetPassword,
}

/// One message.
#[derive(Debug, Clone)]
pub struct Email {
    pub to: String,
    pub kind: EmailKind,
    pub subject: String,
    pub body: String,
    /// The link the user follows (it carries the single-use token).
    pub link: String,
}

impl Email {
    /// The `token` query parameter of the link.
    pub fn token(&self) -> Option<&str> {
        self.link.split_once("token=").map(|(_, token)| token.split('&').next().unwrap_or(token))
    }
}

/// Delivers emails.
pub trait Mailer: Send + Sync + 'static {
    fn send(&self, message: Email) -> BoxFuture<'_, anyhow::Result<()>>;
}

/// The mailer used when no mail transport is configured: in development and tests it logs the
/// recipient and the link (which carries a single-use token) at info level, so the flows can be
/// followed by hand; in production it never logs the link, only that nothing was delivered.
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
                tracing::warn!(kind = ?message.kind, "no mail transport is configured: an email was not delivered");
            }
            Ok(())
        })
    }
}
