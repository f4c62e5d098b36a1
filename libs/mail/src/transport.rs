//! The transport `OPERANT_MAIL` chooses, shared by every service that sends mail: SMTP to
//! `OPERANT_SMTP_URL` from `OPERANT_MAIL_FROM`, the development log (the link is logged, never in
//! production), or nothing at all (`disabled`, only a warning that a mail was not delivered).

use std::sync::Arc;

use futures::future::BoxFuture;
use operant_platform::config::{Environment, MailConfig, MailMode, Settings};

use crate::message::Mail;
use crate::outbox::{Deliver, DeliveryError};
use crate::smtp::{SmtpMailer, SmtpTarget, check_plaintext_credentials};

/// The SMTP mailer of `config`: a malformed URL or sender, or a password sent in the clear to a
/// non-loopback host, fails here (at start), never at the first mail.
pub fn smtp_mailer(config: &MailConfig) -> anyhow::Result<SmtpMailer> {
    let url = config
        .smtp_url
        .as_deref()
        .ok_or_else(|| anyhow::anyhow!("OPERANT_MAIL=smtp needs OPERANT_SMTP_URL"))?;
    let target = SmtpTarget::parse(url)?;
    check_plaintext_credentials(&target)?;
    tracing::info!(smtp = ?target, from = %config.from, "mail goes out over SMTP");
    SmtpMailer::new(&target, &config.from)
}

/// Hands mail to the log instead of a server: in development the recipient and the link (a
/// credential) are logged so the flows can be followed by hand; with `reveal_links` off
/// (production's `OPERANT_MAIL=disabled`) only the fact that nothing was delivered.
#[derive(Debug, Default, Clone, Copy)]
pub struct LogDeliver {
    pub reveal_links: bool,
}

impl Deliver for LogDeliver {
    fn deliver<'a>(&'a self, mail: &'a Mail) -> BoxFuture<'a, Result<(), DeliveryError>> {
        Box::pin(async move {
            if self.reveal_links {
                let link = mail.link.as_deref().unwrap_or_default();
                tracing::info!(to = %mail.to, kind = %mail.kind, %link, "email (development mailer: not sent)");
            } else {
                tracing::warn!(kind = %mail.kind, "mail is disabled (OPERANT_MAIL=disabled): an email was not delivered");
            }
            Ok(())
        })
    }
}

/// The transport of `OPERANT_MAIL` (see the module doc).
pub fn deliver_for(settings: &Settings) -> anyhow::Result<Arc<dyn Deliver>> {
    let reveal_links = settings.environment != Environment::Production;
    Ok(match settings.mail.mode {
        MailMode::Smtp => Arc::new(smtp_mailer(&settings.mail)?),
        MailMode::Log => Arc::new(LogDeliver { reveal_links }),
        MailMode::Disabled => Arc::new(LogDeliver { reveal_links: false }),
    })
}
