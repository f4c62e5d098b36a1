//! The SMTP side: parsing `OPERANT_SMTP_URL` and delivering through lettre's async transport.
//!
//! URL forms: `smtp://user:pass@host:587` (STARTTLS when the server offers it; default port
//! 587), `smtps://user:pass@host:465` (implicit TLS; default port 465) and
//! `smtp://host:port?tls=none` (plain, for a local relay). `?tls=required` insists on STARTTLS.
//! User and password may be percent-encoded; they never appear in `Debug` or in errors.

use std::fmt;
use std::time::Duration;

use anyhow::{Context, bail};
use futures::future::BoxFuture;
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::message::Mail;
use crate::outbox::{Deliver, DeliveryError};
#[cfg(test)]
use uuid::Uuid;

/// How the connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    /// STARTTLS when the server offers it (`smtp://`).
    Opportunistic,
    /// STARTTLS or fail (`smtp://...?tls=required`).
    Required,
    /// TLS from the first byte (`smtps://`).
    Implicit,
    /// No TLS (`?tls=none`): only for a relay on the same host or network.
    None,
}

/// A parsed `OPERANT_SMTP_URL`.
#[derive(Clone, PartialEq, Eq)]
pub struct SmtpTarget {
    pub host: String,
    pub port: u16,
    pub tls: TlsMode,
    credentials: Option<(String, String)>,
}

impl fmt::Debug for SmtpTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpTarget")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("credentials", &self.credentials.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

fn percent_decode(raw: &str) -> anyhow::Result<String> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = raw.get(i + 1..i + 3).context("a truncated %-escape")?;
            out.push(u8::from_str_radix(hex, 16).context("an invalid %-escape")?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).context("credentials are not UTF-8")
}

impl SmtpTarget {
    /// Parses the URL; errors name the variable, never the credentials.
    pub fn parse(url: &str) -> anyhow::Result<Self> {
        let fail = |why: &str| anyhow::anyhow!("OPERANT_SMTP_URL: {why}");
        let (scheme, rest) = url.split_once("://").ok_or_else(|| fail("expected smtp:// or smtps://"))?;
        let implicit = match scheme {
            "smtp" => false,
            "smtps" => true,
            _ => return Err(fail("expected smtp:// or smtps://")),
        };
        let (authority, query) = match rest.split_once('?') {
            Some((a, q)) => (a, Some(q)),
            None => (rest, None),
        };
        let authority = authority.trim_end_matches('/');
        let (userinfo, hostport) = match authority.rsplit_once('@') {
            Some((u, h)) => (Some(u), h),
            None => (None, authority),
        };
        let credentials = match userinfo {
            None => None,
            Some(info) => {
                let (user, pass) = info.split_once(':').unwrap_or((info, ""));
                let decoded = percent_decode(user).and_then(|u| Ok((u, percent_decode(pass)?)));
                Some(decoded.map_err(|e| fail(&format!("user or password: {e}")))?)
            }
        };
        let (host, port) = match hostport.rsplit_once(':') {
            Some((h, p)) => (h, Some(p.parse::<u16>().map_err(|_| fail("the port is not a number"))?)),
            None => (hostport, None),
        };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if host.is_empty() {
            return Err(fail("the host is missing"));
        }
        let mut tls = if implicit { TlsMode::Implicit } else { TlsMode::Opportunistic };
        for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
            match pair.split_once('=') {
                Some(("tls", "none")) if !implicit => tls = TlsMode::None,
                Some(("tls", "required")) if !implicit => tls = TlsMode::Required,
                Some(("tls", "opportunistic")) if !implicit => tls = TlsMode::Opportunistic,
                _ => {
                    return Err(fail(&format!(
                        "unknown parameter {pair:?} (expected tls=none|required|opportunistic with smtp://)"
                    )));
                }
            }
        }
        let port = port.unwrap_or(if implicit { 465 } else { 587 });
        Ok(SmtpTarget { host: host.to_owned(), port, tls, credentials })
    }

    pub fn has_credentials(&self) -> bool {
        self.credentials.is_some()
    }
}

/// Delivers mail over SMTP with lettre (one connection per mail; mail is rare and the outbox
/// retries, so no pool).
#[derive(Clone)]
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl fmt::Debug for SmtpMailer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpMailer").field("from", &self.from.to_string()).finish_non_exhaustive()
    }
}

impl SmtpMailer {
    pub fn new(target: &SmtpTarget, from: &str) -> anyhow::Result<Self> {
        let from: Mailbox = from.parse().map_err(|e| anyhow::anyhow!("OPERANT_MAIL_FROM={from:?}: {e}"))?;
        let tls_params =
            || TlsParameters::new(target.host.clone()).context("OPERANT_SMTP_URL: TLS parameters");
        let tls = match target.tls {
            TlsMode::Opportunistic => Tls::Opportunistic(tls_params()?),
            TlsMode::Required => Tls::Required(tls_params()?),
            TlsMode::Implicit => Tls::Wrapper(tls_params()?),
            TlsMode::None => Tls::None,
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(target.host.as_str())
            .port(target.port)
            .tls(tls)
            .timeout(Some(Duration::from_secs(20)));
        if let Some((user, pass)) = &target.credentials {
            builder = builder.credentials(Credentials::new(user.clone(), pass.clone()));
        }
        Ok(SmtpMailer { transport: builder.build(), from })
    }

    /// The domain of the sender address (the right side of each `Message-ID`).
    pub fn from_domain(&self) -> &str {
        self.from.email.domain()
    }

    /// The lettre message for `mail`: multipart/alternative text + HTML, its stable Message-ID.
    pub fn message(&self, mail: &Mail) -> Result<Message, DeliveryError> {
        let to: Mailbox =
            mail.to.parse().map_err(|e| DeliveryError::permanent(format!("recipient address: {e}")))?;
        Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(mail.subject.clone())
            .message_id(Some(mail.message_id(self.from_domain())))
            .multipart(MultiPart::alternative_plain_html(mail.text.clone(), mail.html.clone()))
            .map_err(|e| DeliveryError::permanent(format!("building the message: {e}")))
    }

    pub async fn send(&self, mail: &Mail) -> Result<(), DeliveryError> {
        let message = self.message(mail)?;
        match self.transport.send(message).await {
            Ok(_) => Ok(()),
            Err(e) if e.is_permanent() => {
                Err(DeliveryError::permanent(format!("SMTP rejected the mail: {e}")))
            }
            Err(e) => Err(DeliveryError::transient(format!("SMTP: {e}"))),
        }
    }
}

impl Deliver for SmtpMailer {
    fn deliver<'a>(&'a self, mail: &'a Mail) -> BoxFuture<'a, Result<(), DeliveryError>> {
        Box::pin(self.send(mail))
    }
}

/// Refuses an SMTP URL that sends credentials in the clear to a non-local host.
pub fn check_plaintext_credentials(target: &SmtpTarget) -> anyhow::Result<()> {
    let local = matches!(target.host.as_str(), "localhost" | "127.0.0.1" | "::1");
    if target.tls == TlsMode::None && target.has_credentials() && !local {
        bail!("OPERANT_SMTP_URL: tls=none with a user and password would send them in the clear");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn parses_the_three_forms_and_redacts_credentials() {
        let t = SmtpTarget::parse("smtp://me%40x.org:p%3Ass@mail.example.org:587").unwrap();
        assert_eq!((t.host.as_str(), t.port, t.tls), ("mail.example.org", 587, TlsMode::Opportunistic));
        assert_eq!(t.credentials, Some(("me@x.org".into(), "p:ss".into())));
        let debug = format!("{t:?}");
        assert!(!debug.contains("p:ss") && !debug.contains("me@x.org"), "{debug}");

        let t = SmtpTarget::parse("smtps://u:secret@smtp.example.org").unwrap();
        assert_eq!((t.port, t.tls), (465, TlsMode::Implicit));
        let t = SmtpTarget::parse("smtp://127.0.0.1:2525?tls=none").unwrap();
        assert_eq!(
            (t.host.as_str(), t.port, t.tls, t.has_credentials()),
            ("127.0.0.1", 2525, TlsMode::None, false)
        );
        assert_eq!(SmtpTarget::parse("smtp://h?tls=required").unwrap().tls, TlsMode::Required);
    }

    #[test]
    fn refuses_bad_urls_without_echoing_secrets() {
        for bad in ["http://h", "smtp://", "smtp://u:topsecret@h:x", "smtps://h?tls=none", "smtp://h?foo=1"] {
            let e = SmtpTarget::parse(bad).unwrap_err().to_string();
            assert!(e.starts_with("OPERANT_SMTP_URL"), "{e}");
            assert!(!e.contains("topsecret"), "{e}");
        }
        let plain = SmtpTarget::parse("smtp://u:p@relay.example.org:25?tls=none").unwrap();
        assert!(check_plaintext_credentials(&plain).is_err());
    }

    #[test]
    fn builds_a_multipart_message_with_a_stable_message_id() {
        let mailer = SmtpMailer::new(
            &SmtpTarget::parse("smtp://127.0.0.1:2525?tls=none").unwrap(),
            "Operant <no-reply@example.org>",
        )
        .unwrap();
        let (text, html) = crate::render_action(&crate::ActionMail {
            product: "Operant",
            organization: Some("<Acme>"),
            intro: "Confirm your email address.",
            action: "Verify email address",
            link: "https://app.example.org/verify-email?token=abc&x=1",
            expires_in: "24 hours",
        });
        assert!(
            text.contains("https://app.example.org/verify-email?token=abc&x=1") && text.contains("24 hours")
        );
        assert!(html.contains("&lt;Acme&gt;") && html.contains("token=abc&amp;x=1"), "{html}");
        let id = Uuid::nil();
        let mail = Mail {
            id,
            kind: "verify_email".into(),
            to: "a@b.org".into(),
            subject: "Hi".into(),
            text,
            html,
            link: None,
        };
        let raw = String::from_utf8(mailer.message(&mail).unwrap().formatted()).unwrap();
        assert!(raw.contains(&format!("Message-ID: <{id}@example.org>")), "{raw}");
        assert!(raw.contains("multipart/alternative") && raw.contains("text/html"), "{raw}");
        assert!(mailer.message(&Mail { to: "not an address".into(), ..mail }).unwrap_err().permanent);
    }
}
