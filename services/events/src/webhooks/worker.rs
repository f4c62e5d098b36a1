//! The delivery worker: claims due deliveries ([`repo::claim`], safe with any number of workers
//! on any number of replicas), POSTs each event to its endpoint as the Standard Webhooks
//! specification says, logs the attempt, and schedules the next one.
//!
//! - A round is one transaction: claim up to [`BATCH`] due deliveries (row locks, `SKIP
//!   LOCKED`), send them concurrently, record the successes in one statement and each failure
//!   after it, commit. A worker killed mid-round leaves its rows to the next round of any worker.
//!   Each replica runs [`LOOPS`] rounds at a time, each on one pooled connection.
//!
//! - Headers: `webhook-id` (the event id), `webhook-timestamp` (unix seconds),
//!   `webhook-signature` (`v1,<base64 HMAC-SHA256>`, plus the previous key's during a rotation's
//!   overlap, space-separated); the body is the event as the feed shows it.
//! - A 2xx answer delivers. Any other status, a timeout ([`TIMEOUT`]) or a connection error is
//!   retried: at once, then after 5 s, 30 s, 2 min, 10 min, 1 h, 6 h and every 6 h, each delay
//!   with ±10 % jitter, as long as the retry falls within 24 h of the delivery's creation
//!   ([`SCHEDULE`]; `OPERANT_WEBHOOK_RETRY_SCALE` scales delays and window).
//! - A 410 disables the endpoint at once; an endpoint whose every attempt failed for the window
//!   is disabled too. Either way a `webhook_endpoint.disabled` event says so (in the transaction
//!   that disables it).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use diesel_async::{AsyncConnection, AsyncPgConnection};
use operant_platform::config::WebhookConfig;
use operant_platform::db::{self, PgPool};
use operant_platform::shutdown::Shutdown;
use operant_seal::Keyring;
use rand::Rng;
use serde_json::json;
use uuid::Uuid;

use super::repo::{self, AttemptRow, Claimed, EndpointRow};
use super::signing::{PREVIOUS_SECRET_COLUMN, SECRET_COLUMN, SigningKey};
use super::ssrf::{self, CheckedResolver};
use crate::domain::Events;
use crate::error::EventsError;
use crate::repo::{EventRow, NewEvent};

/// How long one delivery request may take.
pub const TIMEOUT: Duration = Duration::from_secs(10);
/// Delays before the retries after the first, second, ... failed attempt; the last repeats.
pub const SCHEDULE: &[Duration] = &[
    Duration::ZERO,
    Duration::from_secs(5),
    Duration::from_secs(30),
    Duration::from_secs(120),
    Duration::from_secs(600),
    Duration::from_secs(3600),
    Duration::from_secs(6 * 3600),
];
/// How long a delivery is retried, and how long an endpoint may fail before it is disabled.
pub const WINDOW: Duration = Duration::from_secs(24 * 3600);
/// Deliveries claimed (and sent concurrently) by one round.
const BATCH: i64 = 64;
/// Rounds run at once by one replica's worker (each holds one pooled connection while it runs).
pub const LOOPS: usize = 2;
/// How often an idle worker looks for due deliveries (others' ingests, retries).
const POLL: Duration = Duration::from_millis(200);
/// Most bytes of an error kept in the log.
const MAX_ERROR: usize = 300;

/// The delay before the retry that follows failed attempt number `attempt` (1-based), scaled
/// and jittered.
pub fn retry_delay(attempt: i32, scale: f64) -> Duration {
    let index = usize::try_from(attempt.max(1) - 1).unwrap_or(0).min(SCHEDULE.len() - 1);
    let base = SCHEDULE[index].as_secs_f64() * scale;
    let jitter = if base > 0.0 { rand::thread_rng().gen_range(0.9..1.1) } else { 1.0 };
    Duration::from_secs_f64(base * jitter)
}

/// The event as the feed and the webhook body show it.
pub fn event_json(e: &EventRow) -> serde_json::Value {
    json!({
        "id": e.id,
        "type": e.event_type,
        "organization_id": e.organization_id,
        "actor": {"type": e.actor_type, "id": e.actor_id},
        "occurred_at": e.occurred_at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        "data": e.data,
        "changed_fields": e.changed_fields,
    })
}

/// What one attempt came to.
enum Outcome {
    Delivered(u16),
    /// 410: the receiver says the endpoint is gone for good.
    Gone,
    Failed {
        status: Option<u16>,
        error: String,
    },
}

/// Sends deliveries.
#[derive(Clone)]
pub struct Worker {
    pool: PgPool,
    events: Events,
    keyring: Arc<Keyring>,
    client: reqwest::Client,
    config: WebhookConfig,
}

impl Worker {
    pub fn new(
        pool: PgPool,
        events: Events,
        keyring: Arc<Keyring>,
        config: WebhookConfig,
    ) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .connect_timeout(TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .user_agent("Operant-Webhooks/1")
            .dns_resolver(Arc::new(CheckedResolver { allow_private: config.allow_private }))
            .build()?;
        Ok(Self { pool, events, keyring, client, config })
    }

    /// Runs the worker ([`LOOPS`] rounds at a time) until `shutdown`.
    pub fn spawn(self, shutdown: Shutdown) {
        for _ in 0..LOOPS {
            self.clone().spawn_loop(shutdown.clone());
        }
    }

    fn spawn_loop(self, shutdown: Shutdown) {
        tokio::spawn(async move {
            loop {
                let notify = self.events.deliveries().clone();
                let woken = notify.notified();
                tokio::pin!(woken);
                woken.as_mut().enable();
                match self.run_once().await {
                    Ok(n) if n > 0 => continue,
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "webhook delivery round failed"),
                }
                tokio::select! {
                    _ = &mut woken => {}
                    _ = tokio::time::sleep(POLL) => {}
                    _ = shutdown.wait() => return,
                }
            }
        });
    }

    /// Claims, sends and records one batch of due deliveries, in one transaction that holds the
    /// claimed rows locked throughout (see [`repo`]); how many were claimed.
    pub async fn run_once(&self) -> Result<usize, EventsError> {
        let mut conn = db::conn(&self.pool).await?;
        let (claimed, disabled) = conn
            .transaction(async |conn| {
                let claimed = repo::claim(conn, BATCH).await?;
                if claimed.is_empty() {
                    return Ok::<_, EventsError>((0, false));
                }
                let positions: Vec<i64> = claimed.iter().map(|c| c.event_position).collect();
                let mut endpoint_ids: Vec<Uuid> = claimed.iter().map(|c| c.endpoint_id).collect();
                endpoint_ids.sort_unstable();
                endpoint_ids.dedup();
                let events: HashMap<i64, EventRow> =
                    repo::events_at(conn, &positions).await?.into_iter().map(|e| (e.position, e)).collect();
                let mut endpoints = HashMap::new();
                for endpoint in repo::by_ids(conn, &endpoint_ids).await? {
                    // Each endpoint's keys are opened once per round, not once per delivery. Keys
                    // that do not open make every attempt a failure (retried on the schedule),
                    // never a delivery left due for the next round at once.
                    let keys = self.keys(&endpoint).inspect_err(|e| {
                        tracing::warn!(endpoint = %endpoint.id, error = %e, "webhook signing keys do not open");
                    });
                    endpoints.insert(endpoint.id, (endpoint, keys.ok()));
                }
                let mut sends = Vec::with_capacity(claimed.len());
                for c in &claimed {
                    match (events.get(&c.event_position), endpoints.get(&c.endpoint_id)) {
                        (Some(event), Some((endpoint, keys))) => {
                            sends.push(self.attempt(c, event, endpoint, keys.as_ref()))
                        }
                        // Cannot happen while the row is locked (deleting the endpoint or purging
                        // the event cascades to it and waits); given up rather than claimed again.
                        _ => repo::finish(conn, c.id, "FAILED", None).await?,
                    }
                }
                let mut delivered = Vec::new();
                let mut failed = Vec::new();
                for done in futures::future::join_all(sends).await {
                    if done.attempt.delivered {
                        delivered.push(done.attempt);
                    } else {
                        failed.push(done);
                    }
                }
                if !delivered.is_empty() {
                    repo::finish_delivered(conn, &delivered).await?;
                }
                let mut disabled = false;
                for done in failed {
                    disabled |= record_failure(conn, done).await?;
                }
                Ok((claimed.len(), disabled))
            })
            .await?;
        if disabled {
            self.events.deliveries().notify_waiters();
            self.events.accepted().notify_waiters();
        }
        Ok(claimed)
    }

    /// The endpoint's signing keys: the current one, and the previous one while its overlap
    /// lasts.
    fn keys(&self, endpoint: &EndpointRow) -> Result<Keys, EventsError> {
        let current = SigningKey::open(&self.keyring, &SECRET_COLUMN, endpoint.id, &endpoint.secret)?;
        let previous = match (&endpoint.previous_secret, endpoint.previous_secret_expires_at) {
            (Some(sealed), Some(until)) if until > Utc::now() => {
                Some(SigningKey::open(&self.keyring, &PREVIOUS_SECRET_COLUMN, endpoint.id, sealed)?)
            }
            _ => None,
        };
        Ok(Keys { current, previous })
    }

    async fn send(&self, endpoint: &EndpointRow, keys: &Keys, event: &EventRow) -> Outcome {
        if let Err(why) = ssrf::check_url(&endpoint.url, self.config.allow_private) {
            return Outcome::Failed { status: None, error: format!("url refused: {why}") };
        }
        let body = match serde_json::to_vec(&event_json(event)) {
            Ok(body) => body,
            Err(e) => return Outcome::Failed { status: None, error: format!("encoding the event: {e}") },
        };
        let msg_id = event.id.to_string();
        let timestamp = Utc::now().timestamp();
        let mut signature = keys.current.sign(&msg_id, timestamp, &body);
        if let Some(previous) = &keys.previous {
            signature.push(' ');
            signature.push_str(&previous.sign(&msg_id, timestamp, &body));
        }
        let sent = self
            .client
            .post(&endpoint.url)
            .header("content-type", "application/json")
            .header("webhook-id", &msg_id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(body)
            .send()
            .await;
        match sent {
            Ok(response) => {
                let status = response.status().as_u16();
                // The body is not needed; dropping the response closes or reuses the connection.
                drop(response);
                match status {
                    200..=299 => Outcome::Delivered(status),
                    410 => Outcome::Gone,
                    _ => Outcome::Failed { status: Some(status), error: format!("HTTP {status}") },
                }
            }
            Err(e) => Outcome::Failed { status: None, error: describe(e) },
        }
    }

    /// Sends one claimed delivery and says what to record.
    async fn attempt(
        &self,
        claimed: &Claimed,
        event: &EventRow,
        endpoint: &EndpointRow,
        keys: Option<&Keys>,
    ) -> Done {
        let attempted_at = Utc::now();
        let started = Instant::now();
        let outcome = match keys {
            Some(keys) => self.send(endpoint, keys, event).await,
            None => Outcome::Failed {
                status: None,
                error: "the endpoint's signing key does not open with the master key".to_owned(),
            },
        };
        let latency_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
        let now = Utc::now();
        let window = chrono::Duration::from_std(WINDOW.mul_f64(self.config.retry_scale))
            .unwrap_or_else(|_| chrono::Duration::hours(24));
        let (status, error, delivered) = match &outcome {
            Outcome::Delivered(s) => (Some(*s), None, true),
            Outcome::Gone => (Some(410), Some("HTTP 410: endpoint gone, disabled".to_owned()), false),
            Outcome::Failed { status, error } => (*status, Some(error.clone()), false),
        };
        let next = match outcome {
            Outcome::Failed { .. } => {
                let delay =
                    chrono::Duration::from_std(retry_delay(claimed.attempts, self.config.retry_scale))
                        .unwrap_or_else(|_| chrono::Duration::hours(6));
                Some(now + delay).filter(|at| *at <= claimed.created_at + window)
            }
            _ => None,
        };
        let attempt = AttemptRow {
            id: Uuid::now_v7(),
            delivery_id: claimed.id,
            endpoint_id: endpoint.id,
            event_id: event.id,
            event_type: event.event_type.clone(),
            attempt: claimed.attempts,
            attempted_at,
            status_code: status.map(i32::from),
            latency_ms,
            error: error.map(|e| truncate(e, MAX_ERROR)),
            delivered,
            next_retry_at: next,
        };
        Done { attempt, created_at: claimed.created_at, now, window }
    }
}

/// Records a failed attempt in the worker's transaction: logged, the delivery due again or
/// given up, the endpoint failing since its first failure in a row, and disabled after a 410 or
/// a whole window of failures. Whether it disabled the endpoint.
async fn record_failure(conn: &mut AsyncPgConnection, done: Done) -> Result<bool, EventsError> {
    let Done { attempt, created_at, now, window } = done;
    let next = attempt.next_retry_at;
    let state = if next.is_some() { "PENDING" } else { "FAILED" };
    let gone = attempt.status_code == Some(410);
    let giving_up = next.is_none() && !gone;
    repo::log_attempt(conn, &attempt).await?;
    repo::finish(conn, attempt.delivery_id, state, next).await?;
    let since = repo::mark_failing(conn, attempt.endpoint_id, attempt.attempted_at).await?;
    let reason = if gone {
        Some("gone")
    } else if now - since >= window || (giving_up && since <= created_at + chrono::Duration::minutes(1)) {
        Some("failing")
    } else {
        None
    };
    let Some(reason) = reason else { return Ok(false) };
    let disabled = disable(conn, attempt.endpoint_id, reason).await?;
    if disabled {
        tracing::info!(endpoint = %attempt.endpoint_id, reason, "webhook endpoint disabled");
    }
    Ok(disabled)
}

/// An endpoint's opened signing keys.
struct Keys {
    current: SigningKey,
    /// The previous key, while a rotation's overlap lasts.
    previous: Option<SigningKey>,
}

/// An attempt made, to be recorded.
struct Done {
    attempt: AttemptRow,
    /// The delivery's creation (the retry window runs from it).
    created_at: chrono::DateTime<Utc>,
    now: chrono::DateTime<Utc>,
    window: chrono::Duration,
}

/// Disables the endpoint and records `webhook_endpoint.disabled` (in the caller's transaction);
/// whether it was enabled until now.
async fn disable(conn: &mut AsyncPgConnection, id: Uuid, reason: &str) -> Result<bool, EventsError> {
    let Some(row) = repo::disable(conn, id, reason).await? else { return Ok(false) };
    let event = NewEvent {
        id: Uuid::now_v7(),
        organization_id: row.organization_id,
        event_type: "webhook_endpoint.disabled".into(),
        actor_type: "SYSTEM".into(),
        actor_id: None,
        occurred_at: Utc::now(),
        data: json!({"id": row.id, "url": row.url, "reason": reason, "enabled": false}),
        changed_fields: vec!["enabled".into()],
    };
    crate::repo::ingest(conn, &[event]).await?;
    Ok(true)
}

/// A failed request in a few words: never the URL (it may carry a token), never the body.
fn describe(e: reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timeout"
    } else if e.is_connect() {
        "connect"
    } else if e.is_redirect() {
        "redirect"
    } else {
        "request"
    };
    let mut text = kind.to_owned();
    let mut source: Option<&dyn std::error::Error> = std::error::Error::source(&e);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

fn truncate(mut text: String, max: usize) -> String {
    if text.len() > max {
        let mut end = max;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schedule_is_at_once_then_5s_30s_2min_10min_1h_6h_and_every_6h() {
        let secs = |attempt| retry_delay(attempt, 1.0).as_secs_f64();
        assert_eq!(secs(1), 0.0);
        for (attempt, base) in
            [(2, 5.0), (3, 30.0), (4, 120.0), (5, 600.0), (6, 3600.0), (7, 21600.0), (12, 21600.0)]
        {
            let got = secs(attempt);
            assert!((base * 0.9..=base * 1.1).contains(&got), "attempt {attempt}: {got}");
        }
        assert!(retry_delay(2, 0.01).as_secs_f64() <= 0.055);
    }
}
