//! Outgoing mail, shared by the services that send it (auth's verification and reset links,
//! tenancy's invitations).
//!
//! - [`smtp`]: `OPERANT_SMTP_URL` parsed into an [`SmtpTarget`] (credentials redacted in
//!   `Debug`) and the lettre transport (tokio, rustls) that delivers a [`Mail`].
//! - [`message`]: the model of one mail, its stable `Message-ID` and its rendering into a
//!   plain-text and an HTML body.
//! - [`transport`]: the transport `OPERANT_MAIL` chooses (SMTP, the development log, disabled).
//! - [`outbox`]: a transactional outbox over a table of the sending service: rows are written in
//!   the same transaction as the token they carry, bodies sealed with the master key, and an
//!   [`outbox::Worker`] delivers them with retries and exponential backoff, each row claimed
//!   with `FOR UPDATE SKIP LOCKED` so that replicas send each mail once.

pub mod message;
pub mod outbox;
pub mod smtp;
pub mod transport;

pub use message::{ActionMail, Mail, render_action};
pub use outbox::{Deliver, DeliveryError, NewMail, Outbox, Worker};
pub use smtp::{SmtpMailer, SmtpTarget, TlsMode};
pub use transport::{LogDeliver, deliver_for, smtp_mailer};
