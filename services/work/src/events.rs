//! The work service's events (`project.created|updated|deleted`, `task.created|updated|deleted`)
//! and its transactional outbox: [`record`] writes an event in the transaction of the change it
//! describes (so there is no change without its event and no event without its change, even when
//! the process dies right after the commit), and [`relay`] sends the outbox to the events
//! service's `IngestEvents` and deletes what it accepted.
//!
//! The relay is safe on several replicas: each batch is claimed with `FOR UPDATE SKIP LOCKED`
//! and kept locked while it is sent, so one replica sends a row at a time; a replica that dies
//! after sending and before deleting leaves the rows to be sent again, which `IngestEvents`
//! (idempotent by event id) answers as duplicates. Delivery to the feed is at least once, and
//! the feed keeps each event once.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use operant_platform::clients::ServiceChannel;
use operant_platform::db::{self, PgPool};
use operant_platform::shutdown::Shutdown;
use operant_proto::events::v1 as pb;
use operant_proto::events::v1::events_internal_service_client::EventsInternalServiceClient;
use serde_json::{Value, json};
use tokio::sync::Notify;
use uuid::Uuid;

use crate::model::{Priority, Project, Standing, Task};
use crate::schema::work_event_outbox as outbox;

/// Rows sent per `IngestEvents` call.
pub const BATCH: i64 = 100;
/// How often the relay looks for rows when nobody wakes it (another replica's, or left by a
/// failed attempt).
pub const POLL: Duration = Duration::from_millis(500);
/// Wait after a failed attempt (the events service or the database unreachable).
const RETRY: Duration = Duration::from_secs(1);
/// Longest one `IngestEvents` call may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(5);

/// An outbox row.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = outbox, check_for_backend(diesel::pg::Pg))]
pub struct OutboxEvent {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub event_type: String,
    pub actor_type: String,
    pub actor_id: Option<Uuid>,
    pub occurred_at: DateTime<Utc>,
    pub data: Value,
    pub changed_fields: Vec<String>,
}

impl OutboxEvent {
    /// `<resource>.<verb>` by the caller, about `data`.
    pub fn new(who: &Standing, event_type: String, data: Value, changed_fields: Vec<String>) -> Self {
        OutboxEvent {
            id: Uuid::now_v7(),
            organization_id: who.organization_id,
            event_type,
            actor_type: who.actor_type.to_owned(),
            actor_id: Some(who.actor_id),
            occurred_at: Utc::now(),
            data,
            changed_fields,
        }
    }
}

fn time(t: DateTime<Utc>) -> Value {
    Value::String(t.to_rfc3339_opts(SecondsFormat::Micros, true))
}

fn priority(p: i16) -> &'static str {
    match Priority::from_db(p) {
        Some(Priority::Low) => "LOW",
        Some(Priority::Medium) => "MEDIUM",
        Some(Priority::High) => "HIGH",
        Some(Priority::Urgent) => "URGENT",
        None => "UNSPECIFIED",
    }
}

/// A project as an event carries it: the REST representation.
pub fn project_data(p: &Project) -> Value {
    json!({
        "id": p.id, "organization_id": p.organization_id, "name": p.name, "description": p.description,
        "created_by": p.created_by, "actor_type": p.actor_type,
        "created_at": time(p.created_at), "updated_at": time(p.updated_at), "version": p.version,
    })
}

/// A task as an event carries it: the REST representation.
pub fn task_data(t: &Task) -> Value {
    json!({
        "id": t.id, "organization_id": t.organization_id, "project_id": t.project_id, "title": t.title,
        "description": t.description, "status": t.status, "priority": priority(t.priority),
        "assignee_id": t.assignee_id, "due_date": t.due_date.map(time),
        "created_by": t.created_by, "actor_type": t.actor_type,
        "created_at": time(t.created_at), "updated_at": time(t.updated_at), "version": t.version,
    })
}

/// The names of the fields whose value differs between two representations (the version and
/// `updated_at`, which every update moves, left out), sorted.
pub fn changed_fields(before: &Value, after: &Value) -> Vec<String> {
    let (Some(before), Some(after)) = (before.as_object(), after.as_object()) else { return vec![] };
    let mut changed: Vec<String> = after
        .iter()
        .filter(|(k, v)| !matches!(k.as_str(), "version" | "updated_at") && before.get(*k) != Some(*v))
        .map(|(k, _)| k.clone())
        .collect();
    changed.sort();
    changed
}

/// Writes `event` to the outbox, inside the caller's transaction.
pub async fn record(conn: &mut AsyncPgConnection, event: &OutboxEvent) -> QueryResult<()> {
    diesel::insert_into(outbox::table).values(event).execute(conn).await.map(|_| ())
}

/// The relay's wake-up: the domain hints after each commit that recorded an event.
#[derive(Clone, Default)]
pub struct Relay {
    wake: Arc<Notify>,
}

impl Relay {
    /// Tells the relay there is something to send.
    pub fn hint(&self) {
        self.wake.notify_one();
    }
}

/// Sends one batch: claims up to [`BATCH`] rows (`SKIP LOCKED`), sends them, deletes them, all
/// in one transaction. Returns how many were sent; an error leaves the rows for a later attempt.
pub async fn relay_once(
    pool: &PgPool,
    client: &EventsInternalServiceClient<ServiceChannel>,
) -> anyhow::Result<usize> {
    let mut conn = db::conn(pool).await?;
    conn.transaction(async |conn| {
        let rows: Vec<OutboxEvent> = outbox::table
            .order((outbox::occurred_at.asc(), outbox::id.asc()))
            .limit(BATCH)
            .for_update()
            .skip_locked()
            .select(OutboxEvent::as_select())
            .load(conn)
            .await?;
        if rows.is_empty() {
            return Ok(0);
        }
        let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
        let mut request =
            tonic::Request::new(pb::IngestEventsRequest { events: rows.into_iter().map(to_proto).collect() });
        request.set_timeout(CALL_TIMEOUT);
        client.clone().ingest_events(request).await?;
        diesel::delete(outbox::table.filter(outbox::id.eq_any(&ids))).execute(conn).await?;
        Ok(ids.len())
    })
    .await
}

fn to_proto(row: OutboxEvent) -> pb::Event {
    let data = match &row.data {
        Value::Object(map) => operant_proto::json::to_struct(map),
        _ => prost_types::Struct::default(),
    };
    pb::Event {
        id: row.id.to_string(),
        r#type: row.event_type,
        organization_id: row.organization_id.to_string(),
        actor: Some(pb::Actor {
            r#type: row.actor_type,
            id: row.actor_id.map(|id| id.to_string()).unwrap_or_default(),
        }),
        occurred_at: Some(prost_types::Timestamp {
            seconds: row.occurred_at.timestamp(),
            nanos: i32::try_from(row.occurred_at.timestamp_subsec_nanos()).unwrap_or(0),
        }),
        data: Some(data),
        changed_fields: row.changed_fields,
        cursor: String::new(),
    }
}

/// Runs the relay until `shutdown`: a batch whenever the domain hints, at least every [`POLL`].
pub fn spawn_relay(
    pool: PgPool,
    client: EventsInternalServiceClient<ServiceChannel>,
    relay: Relay,
    shutdown: Shutdown,
) {
    tokio::spawn(async move {
        let mut failing = false;
        loop {
            let wait = match relay_once(&pool, &client).await {
                Ok(n) if n as i64 == BATCH => continue,
                Ok(_) => {
                    if failing {
                        tracing::info!("event relay: sending again");
                        failing = false;
                    }
                    POLL
                }
                Err(e) => {
                    if !failing {
                        tracing::warn!(error = %format!("{e:#}"), "event relay: cannot send events yet; retrying");
                        failing = true;
                    }
                    RETRY
                }
            };
            tokio::select! {
                _ = relay.wake.notified(), if !failing => {}
                _ = tokio::time::sleep(wait) => {}
                _ = shutdown.wait() => return,
            }
        }
    });
}
