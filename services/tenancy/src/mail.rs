//! Invitation mail: rendered here (product, organization, role, link and expiry, in plain text
//! and HTML) and written to tenancy's `tenancy_mail_outbox` in the transaction that creates or
//! renews the invitation's token; the outbox worker of `operant-mail` delivers it after the
//! commit with the transport `OPERANT_MAIL` chooses (SMTP, the development log, disabled).
//! The link is a credential until used: it is only in the sealed body, never in a log line
//! outside development.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use operant_mail::{ActionMail, NewMail, render_action};
use operant_platform::sealed::SealedColumn;
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::plans::Role;

/// The outbox table.
pub const OUTBOX_TABLE: &str = "tenancy_mail_outbox";

/// The `kind` of an invitation mail.
pub const KIND: &str = "invitation";

/// `tenancy_mail_outbox.body`: invitation mail waiting for delivery (its link carries the token).
pub const MAIL_OUTBOX: SealedColumn = SealedColumn {
    table: OUTBOX_TABLE,
    column: operant_mail::outbox::BODY_COLUMN,
    key: "id",
    key_type: "uuid",
};

/// A new invitation token (256 random bits from the OS, base64url) and its stored SHA-256.
pub fn new_token() -> (String, Vec<u8>) {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let token = URL_SAFE_NO_PAD.encode(bytes);
    let hash = hash_token(&token);
    (token, hash)
}

/// The stored form of a token (a fast hash is enough for 256 random bits).
pub fn hash_token(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// A lifetime in words, for the mail: `7 days`, `1 hour`, `90 seconds`.
pub fn in_words(ttl: Duration) -> String {
    let secs = ttl.as_secs();
    let (n, unit) = match secs {
        s if s >= 86_400 && s % 86_400 == 0 => (s / 86_400, "day"),
        s if s >= 3_600 && s % 3_600 == 0 => (s / 3_600, "hour"),
        s if s >= 60 && s % 60 == 0 => (s / 60, "minute"),
        s => (s, "second"),
    };
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

/// What an invitation mail says.
pub struct Invite<'a> {
    pub public_url: &'a str,
    pub organization: &'a str,
    pub to: &'a str,
    pub role: Role,
    pub token: &'a str,
    pub ttl: Duration,
}

/// The mail of an invitation: `{public_url}/accept-invitation?token=…`.
pub fn invitation_mail(invite: &Invite<'_>) -> NewMail {
    let link =
        format!("{}/accept-invitation?token={}", invite.public_url.trim_end_matches('/'), invite.token);
    let role = match invite.role {
        Role::Admin => "an admin",
        Role::Member | Role::Owner => "a member",
    };
    let intro = format!(
        "You are invited to join the organization {} on Operant as {role}. Sign in (or create an account) with \
         this email address, then accept the invitation.",
        invite.organization
    );
    let (text, html) = render_action(&ActionMail {
        product: "Operant",
        organization: Some(invite.organization),
        intro: &intro,
        action: "Accept the invitation",
        link: &link,
        expires_in: &in_words(invite.ttl),
    });
    NewMail {
        kind: KIND.to_owned(),
        to: invite.to.to_owned(),
        subject: format!("You are invited to join {} on Operant", invite.organization),
        text,
        html,
        link: Some(link),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifetimes_read_as_words() {
        assert_eq!(in_words(Duration::from_secs(604_800)), "7 days");
        assert_eq!(in_words(Duration::from_secs(3_600)), "1 hour");
        assert_eq!(in_words(Duration::from_secs(90)), "90 seconds");
        assert_eq!(in_words(Duration::from_secs(120)), "2 minutes");
    }

    #[test]
    fn the_mail_names_the_organization_the_link_and_the_expiry() {
        let mail = invitation_mail(&Invite {
            public_url: "https://app.example.com/",
            organization: "Acme <Labs>",
            to: "bob@example.com",
            role: Role::Member,
            token: "tok",
            ttl: Duration::from_secs(604_800),
        });
        assert_eq!(mail.link.as_deref(), Some("https://app.example.com/accept-invitation?token=tok"));
        assert!(
            mail.text.contains("Acme <Labs>")
                && mail.text.contains("7 days")
                && mail.text.contains("Operant")
        );
        assert!(mail.html.contains("Acme &lt;Labs&gt;") && mail.html.contains("accept-invitation?token=tok"));
        let (token, hash) = new_token();
        assert_eq!((token.len(), hash), (43, hash_token(&token)));
    }
}
