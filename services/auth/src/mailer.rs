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

/// Development mailer: logs the recipient and the link at info level.
#[derive(Debug, Default, Clone, Copy)]
pub struct LogMailer;

impl Mailer for LogMailer {
    fn send(&self, message: Email) -> BoxFuture<'_, anyhow::Result<()>> {
        Box::pin(async move {
            tracing::info!(to = %message.to, kind = ?message.kind, link = %message.link, "email (development mailer: not sent)");
            Ok(())
        })
    }
}
