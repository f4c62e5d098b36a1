//! The events service's rules: what an acceptable event is, who may read the feed, where a page
//! or a watch starts and ends, and how long events are kept.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use operant_platform::db::{self, PgPool};
use operant_platform::error::FieldViolation;
use operant_platform::shutdown::Shutdown;
use tokio::sync::Notify;
use uuid::Uuid;

use crate::error::EventsError;
use crate::repo::{self, EventRow, NewEvent};

/// Most events in one `IngestEvents` call.
pub const MAX_BATCH: usize = 500;
/// Largest page of `ListEvents`, and its default.
pub const MAX_LIMIT: i64 = 100;
pub const DEFAULT_LIMIT: i64 = 20;
/// Most types in one filter.
pub const MAX_TYPES: usize = 50;
/// Rows deleted per retention statement.
const PURGE_BATCH: i64 = 1000;
/// How often the retention worker runs.
const PURGE_EVERY: Duration = Duration::from_secs(600);

/// A position in the feed, as sent (`Event.cursor`, `next_cursor`, `after`): the decimal
/// position. Opaque to clients; only ever compared by the service.
pub fn cursor(position: i64) -> String {
    position.to_string()
}

/// `after`: empty → `None`; else 1..=18 decimal digits.
pub fn parse_cursor(field: &str, value: &str) -> Result<Option<i64>, EventsError> {
    let value = value.trim();
    if value.is_empty() {
        return Ok(None);
    }
    if value.len() > 18 || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(EventsError::invalid(field, "must be a cursor returned by the feed"));
    }
    value.parse().map(Some).map_err(|_| EventsError::invalid(field, "must be a cursor returned by the feed"))
}

/// Whether `t` is shaped like an event type: `<resource>.<verb>`, lowercase letters and `_`.
pub fn is_event_type(t: &str) -> bool {
    let Some((resource, verb)) = t.split_once('.') else { return false };
    let part =
        |s: &str| !s.is_empty() && s.len() <= 40 && s.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
    part(resource) && part(verb)
}

/// A type filter: each entry (comma-separated lists allowed) must look like an event type.
pub fn parse_types(field: &str, values: &[String]) -> Result<Vec<String>, EventsError> {
    let types: Vec<String> = values
        .iter()
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect();
    if types.len() > MAX_TYPES {
        return Err(EventsError::invalid(field, format!("at most {MAX_TYPES} types")));
    }
    if let Some(bad) = types.iter().find(|t| !is_event_type(t)) {
        return Err(EventsError::invalid(field, format!("{bad:?} is not an event type (`resource.verb`)")));
    }
    Ok(types)
}

/// One page of the feed.
#[derive(Debug)]
pub struct FeedPage {
    pub events: Vec<EventRow>,
    /// Where the next page starts.
    pub next: i64,
    pub has_more: bool,
}

/// The feed and its ingest.
#[derive(Clone)]
pub struct Events {
    pool: PgPool,
    /// Woken after every ingest commit of this process, so local watchers send at once; watchers
    /// also poll (another replica's ingests).
    accepted: Arc<Notify>,
    /// Woken when an ingest of this process created webhook deliveries, so a local delivery
    /// worker sends at once; workers also poll (another replica's ingests, retries).
    deliveries: Arc<Notify>,
}

impl Events {
    pub fn new(pool: PgPool) -> Self {
        Self { pool, accepted: Arc::new(Notify::new()), deliveries: Arc::new(Notify::new()) }
    }

    /// What ingests that created webhook deliveries notify.
    pub fn deliveries(&self) -> &Arc<Notify> {
        &self.deliveries
    }

    /// What local ingests notify.
    pub fn accepted(&self) -> &Arc<Notify> {
        &self.accepted
    }

    /// Validates and accepts a batch (all or none); `(new, duplicates)`.
    pub async fn ingest(&self, batch: Vec<NewEvent>) -> Result<(usize, usize), EventsError> {
        if batch.len() > MAX_BATCH {
            return Err(EventsError::invalid("events", format!("at most {MAX_BATCH} events per call")));
        }
        let mut violations = Vec::new();
        for (i, e) in batch.iter().enumerate() {
            if e.id.get_version_num() != 7 {
                violations.push(FieldViolation::new(format!("events[{i}].id"), "must be a UUIDv7"));
            }
            if !is_event_type(&e.event_type) {
                violations.push(FieldViolation::new(format!("events[{i}].type"), "must be `resource.verb`"));
            }
            match (e.actor_type.as_str(), e.actor_id) {
                ("USER" | "API_KEY", Some(_)) | ("SYSTEM", None) => {}
                _ => violations.push(FieldViolation::new(
                    format!("events[{i}].actor"),
                    "must be a USER or API_KEY with its id, or SYSTEM without one",
                )),
            }
            if !e.data.is_object() {
                violations.push(FieldViolation::new(format!("events[{i}].data"), "must be an object"));
            }
        }
        if !violations.is_empty() {
            return Err(EventsError::Validation(violations));
        }
        if batch.is_empty() {
            return Ok((0, 0));
        }
        let mut conn = db::conn(&self.pool).await?;
        let ingested = repo::ingest(&mut conn, &batch).await?;
        self.accepted.notify_waiters();
        if ingested.deliveries > 0 {
            self.deliveries.notify_waiters();
        }
        Ok((ingested.accepted, batch.len() - ingested.accepted))
    }

    /// The feed position every event so far has reached ("now").
    pub async fn head(&self) -> Result<i64, EventsError> {
        let mut conn = db::conn(&self.pool).await?;
        Ok(repo::head(&mut conn).await?)
    }

    /// Up to `limit` events of the organization after `after`, of `types` (all when empty). The
    /// page is bounded by the head read first, so `next` may move past events of other
    /// organizations or types, never past one of this filter that is still to come.
    pub async fn page(
        &self,
        organization_id: Uuid,
        after: i64,
        types: &[String],
        limit: i64,
    ) -> Result<FeedPage, EventsError> {
        let mut conn = db::conn(&self.pool).await?;
        let upto = repo::head(&mut conn).await?;
        let mut events = repo::page(&mut conn, organization_id, after, upto, types, limit + 1).await?;
        let has_more = events.len() as i64 > limit;
        events.truncate(limit as usize);
        let next = match events.last() {
            Some(last) if has_more => last.position,
            _ => upto.max(after),
        };
        Ok(FeedPage { events, next, has_more })
    }

    /// Deletes the events older than `retention`, in batches; rows deleted.
    pub async fn purge_expired(&self, retention: Duration) -> Result<usize, EventsError> {
        let before = Utc::now()
            - chrono::Duration::from_std(retention).unwrap_or_else(|_| chrono::Duration::days(36_500));
        let mut conn = db::conn(&self.pool).await?;
        let mut total = 0;
        loop {
            let deleted = repo::purge_before(&mut conn, before, PURGE_BATCH).await?;
            total += deleted;
            if deleted < PURGE_BATCH as usize {
                return Ok(total);
            }
        }
    }
}

/// Runs [`Events::purge_expired`] at start and every ten minutes until `shutdown`.
pub fn spawn_purge(events: Events, retention: Duration, shutdown: Shutdown) {
    tokio::spawn(async move {
        loop {
            match events.purge_expired(retention).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(deleted = n, "purged expired events"),
                Err(e) => tracing::warn!(error = %e, "purging expired events failed"),
            }
            tokio::select! {
                _ = tokio::time::sleep(PURGE_EVERY) => {}
                _ = shutdown.wait() => return,
            }
        }
    });
}
