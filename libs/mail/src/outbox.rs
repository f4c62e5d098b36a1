//! A transactional outbox over one table of the sending service, and the worker that delivers it.
//!
//! The table (each service owns its own, e.g. auth's `mail_outbox`) has the columns `id uuid`,
//! `kind`, `recipient`, `subject`, `body bytea` (the sealed JSON `{text, html, link}`; NULL once
//! sent or failed, so no link outlives its delivery), `created_at`, `attempts`,
//! `next_attempt_at`, `sent_at`, `failed_at`, `last_error`.
//!
//! Delivery: [`Outbox::enqueue`] runs inside the caller's transaction (the mail commits or rolls
//! back with its token) and returns the id, which the caller hands to its worker with
//! [`Worker::hint`] after the commit: the replica that wrote a mail delivers it at once. Other
//! replicas see it only after [`HANDOFF`], in case that one died. A claim is one statement
//! (`UPDATE ... FROM (SELECT ... FOR UPDATE SKIP LOCKED)`) that bumps `attempts` and leases the
//! row for [`LEASE`], so two replicas never hold the same row; sending happens outside any
//! transaction. Failures retry with exponential backoff (1 s doubling, ±20 % jitter, capped at
//! [`MAX_BACKOFF`]) for as long as it takes: an SMTP outage loses nothing. A permanent SMTP
//! rejection (5xx) is retried too, and marks the row failed on attempt [`PERMANENT_LIMIT`].
//! Delivery is at least once: if marking a sent row fails (database gone), the lease runs out
//! and the mail is sent again with the same `Message-ID`, which lets receivers spot it.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use diesel::QueryableByName;
use diesel::sql_types::{Array, BigInt, Bytea, Integer, Text, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use futures::future::BoxFuture;
use operant_platform::db::{self, PgPool};
use operant_platform::shutdown::Shutdown;
use operant_seal::{Aad, Keyring};
use rand::Rng;
use serde::{Deserialize, Serialize};
use tokio::sync::Notify;
use uuid::Uuid;

use crate::message::Mail;

/// How long a freshly written mail is left to the replica that wrote it.
pub const HANDOFF: Duration = Duration::from_secs(30);
/// How long a claimed row is reserved for the worker that claimed it.
pub const LEASE: Duration = Duration::from_secs(120);
/// Longest wait between two attempts.
pub const MAX_BACKOFF: Duration = Duration::from_secs(600);
/// A permanent (5xx) rejection on this attempt marks the mail failed.
pub const PERMANENT_LIMIT: i32 = 3;
/// How often the worker looks for due rows when nobody wakes it.
pub const POLL: Duration = Duration::from_secs(1);
const BATCH: i64 = 20;

/// Why a delivery did not happen.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct DeliveryError {
    /// The server refused the mail for good (SMTP 5xx), as opposed to a network or 4xx error.
    pub permanent: bool,
    pub message: String,
}

impl DeliveryError {
    pub fn permanent(message: impl Into<String>) -> Self {
        DeliveryError { permanent: true, message: message.into() }
    }
    pub fn transient(message: impl Into<String>) -> Self {
        DeliveryError { permanent: false, message: message.into() }
    }
}

/// Something that hands a mail over: SMTP, a development log, a test's capture.
pub trait Deliver: Send + Sync + 'static {
    fn deliver<'a>(&'a self, mail: &'a Mail) -> BoxFuture<'a, Result<(), DeliveryError>>;
}

/// A mail to write to the outbox.
#[derive(Clone)]
pub struct NewMail {
    pub kind: String,
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    pub link: Option<String>,
}

impl std::fmt::Debug for NewMail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Like `Mail`'s: the bodies and the link carry a one-time token.
        f.debug_struct("NewMail")
            .field("kind", &self.kind)
            .field("subject", &self.subject)
            .finish_non_exhaustive()
    }
}

#[derive(Serialize, Deserialize)]
struct Body {
    text: String,
    html: String,
    link: Option<String>,
}

/// One outbox table and the key that seals its bodies.
#[derive(Clone)]
pub struct Outbox {
    table: &'static str,
    keyring: Arc<Keyring>,
}

/// The sealed column of an outbox table (for the service's list of sealed columns).
pub const BODY_COLUMN: &str = "body";

#[derive(QueryableByName)]
struct Claimed {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = Text)]
    kind: String,
    #[diesel(sql_type = Text)]
    recipient: String,
    #[diesel(sql_type = Text)]
    subject: String,
    #[diesel(sql_type = Bytea)]
    body: Vec<u8>,
    #[diesel(sql_type = Integer)]
    attempts: i32,
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

/// The wait after the `attempts`-th failure: 1 s, 2 s, 4 s … ≤ [`MAX_BACKOFF`], ±20 % jitter.
pub fn backoff(attempts: i32) -> Duration {
    let exp = attempts.clamp(1, 20) - 1;
    let base = Duration::from_secs(1u64 << exp).min(MAX_BACKOFF);
    base.mul_f64(rand::thread_rng().gen_range(0.8..1.2)).min(MAX_BACKOFF)
}

impl Outbox {
    pub fn new(table: &'static str, keyring: Arc<Keyring>) -> Self {
        Outbox { table, keyring }
    }

    fn aad<'a>(&self, row: &'a str) -> Aad<'a> {
        Aad { table: self.table, column: BODY_COLUMN, row }
    }

    /// Writes `mail` (body sealed) in the caller's transaction; returns its id.
    pub async fn enqueue(&self, conn: &mut AsyncPgConnection, mail: NewMail) -> anyhow::Result<Uuid> {
        let id = Uuid::now_v7();
        let body = serde_json::to_vec(&Body { text: mail.text, html: mail.html, link: mail.link })?;
        let sealed = self.keyring.seal(&self.aad(&id.to_string()), &body)?;
        diesel::sql_query(format!(
            "INSERT INTO {} (id, kind, recipient, subject, body, next_attempt_at) \
             VALUES ($1, $2, $3, $4, $5, now() + make_interval(secs => $6))",
            self.table
        ))
        .bind::<SqlUuid, _>(id)
        .bind::<Text, _>(&mail.kind)
        .bind::<Text, _>(&mail.to)
        .bind::<Text, _>(&mail.subject)
        .bind::<Bytea, _>(&sealed)
        .bind::<diesel::sql_types::Double, _>(secs(HANDOFF))
        .execute(conn)
        .await?;
        Ok(id)
    }

    /// Claims up to `limit` due rows (and the `hinted` ones, due or not) for this worker.
    async fn claim(
        &self,
        conn: &mut AsyncPgConnection,
        hinted: &[Uuid],
        limit: i64,
    ) -> anyhow::Result<Vec<Claimed>> {
        let t = self.table;
        Ok(diesel::sql_query(format!(
            "UPDATE {t} SET attempts = {t}.attempts + 1, next_attempt_at = now() + make_interval(secs => $3) \
             FROM (SELECT id FROM {t} WHERE sent_at IS NULL AND failed_at IS NULL \
                   AND (next_attempt_at <= now() OR id = ANY($1)) \
                   ORDER BY next_attempt_at LIMIT $2 FOR UPDATE SKIP LOCKED) due \
             WHERE {t}.id = due.id \
             RETURNING {t}.id, {t}.kind, {t}.recipient, {t}.subject, {t}.body, {t}.attempts"
        ))
        .bind::<Array<SqlUuid>, _>(hinted)
        .bind::<BigInt, _>(limit)
        .bind::<diesel::sql_types::Double, _>(secs(LEASE))
        .load(conn)
        .await?)
    }

    fn open(&self, row: Claimed) -> anyhow::Result<(Mail, i32)> {
        let plain = self.keyring.open(&self.aad(&row.id.to_string()), &row.body)?;
        let body: Body = serde_json::from_slice(&plain)?;
        let mail = Mail {
            id: row.id,
            kind: row.kind,
            to: row.recipient,
            subject: row.subject,
            text: body.text,
            html: body.html,
            link: body.link,
        };
        Ok((mail, row.attempts))
    }

    async fn mark_sent(&self, conn: &mut AsyncPgConnection, id: Uuid) -> anyhow::Result<()> {
        diesel::sql_query(format!(
            "UPDATE {} SET sent_at = now(), body = NULL, last_error = NULL WHERE id = $1",
            self.table
        ))
        .bind::<SqlUuid, _>(id)
        .execute(conn)
        .await?;
        Ok(())
    }

    async fn mark_failed(
        &self,
        conn: &mut AsyncPgConnection,
        id: Uuid,
        attempts: i32,
        error: &DeliveryError,
    ) -> anyhow::Result<bool> {
        let give_up = error.permanent && attempts >= PERMANENT_LIMIT;
        diesel::sql_query(format!(
            "UPDATE {} SET last_error = $2, next_attempt_at = now() + make_interval(secs => $3), \
             failed_at = CASE WHEN $4 THEN now() END, body = CASE WHEN $4 THEN NULL ELSE body END \
             WHERE id = $1",
            self.table
        ))
        .bind::<SqlUuid, _>(id)
        .bind::<Text, _>(&error.message)
        .bind::<diesel::sql_types::Double, _>(secs(backoff(attempts)))
        .bind::<diesel::sql_types::Bool, _>(give_up)
        .execute(conn)
        .await?;
        Ok(give_up)
    }
}

/// Delivers one outbox table's mail until shutdown.
#[derive(Clone)]
pub struct Worker {
    outbox: Outbox,
    pool: PgPool,
    deliver: Arc<dyn Deliver>,
    hints: Arc<Mutex<Vec<Uuid>>>,
    wake: Arc<Notify>,
}

impl Worker {
    pub fn new(outbox: Outbox, pool: PgPool, deliver: Arc<dyn Deliver>) -> Self {
        Worker { outbox, pool, deliver, hints: Arc::default(), wake: Arc::new(Notify::new()) }
    }

    pub fn outbox(&self) -> &Outbox {
        &self.outbox
    }

    /// After the commit of a mail this process wrote: deliver it now.
    pub fn hint(&self, id: Uuid) {
        self.hints.lock().unwrap_or_else(|e| e.into_inner()).push(id);
        self.wake.notify_one();
    }

    /// Runs until `shutdown` (a delivery in flight finishes first).
    pub fn spawn(self, shutdown: Shutdown) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = shutdown.wait() => return,
                    _ = self.wake.notified() => {}
                    _ = tokio::time::sleep(POLL) => {}
                }
                loop {
                    match self.run_once().await {
                        Ok(n) if n as i64 >= BATCH => continue,
                        Ok(_) => break,
                        Err(e) => {
                            tracing::warn!(table = self.outbox.table, error = %format!("{e:#}"), "mail outbox: could not claim mail");
                            break;
                        }
                    }
                }
            }
        })
    }

    /// Claims and delivers one batch; returns how many rows it claimed.
    pub async fn run_once(&self) -> anyhow::Result<usize> {
        let hinted = std::mem::take(&mut *self.hints.lock().unwrap_or_else(|e| e.into_inner()));
        let mut conn = db::conn(&self.pool).await.map_err(|e| anyhow::anyhow!("{e}"))?;
        let rows = match self.outbox.claim(&mut conn, &hinted, BATCH).await {
            Ok(rows) => rows,
            Err(e) => {
                // Keep the hints for the next round.
                self.hints.lock().unwrap_or_else(|e| e.into_inner()).extend(hinted);
                return Err(e);
            }
        };
        let claimed = rows.len();
        for row in rows {
            let id = row.id;
            let (mail, attempts) = match self.outbox.open(row) {
                Ok(opened) => opened,
                Err(e) => {
                    let error = DeliveryError::permanent(format!("the body does not open: {e:#}"));
                    self.outbox.mark_failed(&mut conn, id, PERMANENT_LIMIT, &error).await?;
                    tracing::error!(table = self.outbox.table, %id, error = %error, "mail outbox: mail failed");
                    continue;
                }
            };
            match self.deliver.deliver(&mail).await {
                Ok(()) => {
                    self.outbox.mark_sent(&mut conn, id).await?;
                    tracing::info!(table = self.outbox.table, %id, kind = %mail.kind, attempts, "mail sent");
                }
                Err(error) => {
                    let failed = self.outbox.mark_failed(&mut conn, id, attempts, &error).await?;
                    if failed {
                        tracing::error!(table = self.outbox.table, %id, attempts, error = %error, "mail outbox: mail failed for good");
                    } else {
                        tracing::warn!(table = self.outbox.table, %id, attempts, error = %error, "mail outbox: delivery failed; will retry");
                    }
                }
            }
        }
        Ok(claimed)
    }
}
