//! One outgoing mail and its rendering. A transactional mail here always asks the reader to
//! follow one link (verify, reset, accept an invitation) before it expires; [`render_action`]
//! writes the plain-text and HTML bodies for that, escaping everything it interpolates.

use uuid::Uuid;

/// A mail ready to deliver (the bodies are plaintext here; the outbox stores them sealed).
#[derive(Clone, PartialEq, Eq)]
pub struct Mail {
    /// The outbox row id; the `Message-ID` is derived from it, so a retry keeps it.
    pub id: Uuid,
    /// What the mail is for (`verify_email`, `reset_password`, `invitation`).
    pub kind: String,
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    /// The link the reader follows (a credential until used: never log it in production).
    pub link: Option<String>,
}

impl std::fmt::Debug for Mail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The bodies and the link carry a one-time token.
        f.debug_struct("Mail")
            .field("id", &self.id)
            .field("kind", &self.kind)
            .field("subject", &self.subject)
            .finish_non_exhaustive()
    }
}

impl Mail {
    /// `<{id}@{domain}>`: stable across retries, unique per outbox row.
    pub fn message_id(&self, domain: &str) -> String {
        format!("<{}@{}>", self.id, domain)
    }
}

/// What [`render_action`] says.
#[derive(Debug, Clone)]
pub struct ActionMail<'a> {
    /// The product name (`Operant`).
    pub product: &'a str,
    /// The organization the mail is about, if any (invitations).
    pub organization: Option<&'a str>,
    /// One sentence saying why the reader gets this mail.
    pub intro: &'a str,
    /// The button text (`Verify email address`).
    pub action: &'a str,
    pub link: &'a str,
    /// When the link stops working, in words (`24 hours`).
    pub expires_in: &'a str,
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The plain-text and HTML bodies of an [`ActionMail`].
pub fn render_action(m: &ActionMail<'_>) -> (String, String) {
    let org_line = m.organization.map(|o| format!("Organization: {o}\n")).unwrap_or_default();
    let text = format!(
        "{product}\n\n{intro}\n{org_line}\n{action}:\n{link}\n\nThe link works once and expires in {expires}.\n\
         If you did not expect this mail, you can ignore it.\n",
        product = m.product,
        intro = m.intro,
        action = m.action,
        link = m.link,
        expires = m.expires_in,
    );
    let org_html = m
        .organization
        .map(|o| format!("<p>Organization: <strong>{}</strong></p>", escape(o)))
        .unwrap_or_default();
    let html = format!(
        "<!doctype html>\n<html><body style=\"font-family:sans-serif\">\
         <h1>{product}</h1><p>{intro}</p>{org_html}\
         <p><a href=\"{link}\">{action}</a></p>\
         <p>Or paste this link into your browser: {link}</p>\
         <p>The link works once and expires in {expires}. If you did not expect this mail, you can ignore it.</p>\
         </body></html>\n",
        product = escape(m.product),
        intro = escape(m.intro),
        link = escape(m.link),
        action = escape(m.action),
        expires = escape(m.expires_in),
    );
    (text, html)
}
