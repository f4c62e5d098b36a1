//! [`Mailbox`]: every mail tenancy's outbox worker hands over in a [`crate::TestApp`] (invitations),
//! kept for the test and then passed on to the transport the settings choose (so an SMTP test
//! still gets it over SMTP). `Clients::add` reads the invitation token from here, the way an
//! invitee reads it from their inbox.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::BoxFuture;
use operant_mail::{Deliver, DeliveryError, Mail};

/// The mail tenancy delivered, in order.
#[derive(Clone, Default)]
pub struct Mailbox {
    sent: Arc<Mutex<Vec<Mail>>>,
}

impl Mailbox {
    /// Every mail delivered so far.
    pub fn messages(&self) -> Vec<Mail> {
        self.sent.lock().expect("mailbox lock").clone()
    }

    /// The mails delivered to `to`.
    pub fn to(&self, to: &str) -> Vec<Mail> {
        self.messages().into_iter().filter(|m| m.to == to).collect()
    }

    /// Waits (≤ 10 s) for the `n`-th mail (1-based) to `to`.
    pub async fn wait_for(&self, to: &str, n: usize) -> Mail {
        for _ in 0..500 {
            if let Some(m) = self.to(to).get(n - 1) {
                return m.clone();
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("no mail number {n} to {to} was delivered");
    }

    /// Waits for the `n`-th mail to `to` and returns the `token` of its link.
    pub async fn token_for(&self, to: &str, n: usize) -> String {
        let mail = self.wait_for(to, n).await;
        token_of(mail.link.as_deref().unwrap_or_default())
    }

    /// A transport that records each mail here, then hands it to `inner`.
    pub fn recording(&self, inner: Arc<dyn Deliver>) -> Arc<dyn Deliver> {
        Arc::new(Recording { mailbox: self.clone(), inner })
    }
}

/// The `token` query parameter of a link (or of a mail body holding one).
pub fn token_of(text: &str) -> String {
    let start = text.find("token=").unwrap_or_else(|| panic!("no token in {text:?}")) + "token=".len();
    text[start..]
        .split(|c: char| c.is_whitespace() || c == '"' || c == '<' || c == '&')
        .next()
        .unwrap_or_default()
        .to_owned()
}

struct Recording {
    mailbox: Mailbox,
    inner: Arc<dyn Deliver>,
}

impl Deliver for Recording {
    fn deliver<'a>(&'a self, mail: &'a Mail) -> BoxFuture<'a, Result<(), DeliveryError>> {
        Box::pin(async move {
            self.inner.deliver(mail).await?;
            self.mailbox.sent.lock().expect("mailbox lock").push(mail.clone());
            Ok(())
        })
    }
}
