//! The transactional outbox of a service's events, and its relay to the events service.
//!
//! A service that owns data writes each event with [`Outbox::record`] in the transaction of the
//! change it describes, to an outbox table of its own (`work_event_outbox`,
//! `tenancy_event_outbox`), so there is no change without its event and no event without its
//! change, even when the process dies right after the commit. [`Outbox::spawn_relay`] then sends
//! the table to the events service's `EventsInternalService/IngestEvents` and deletes what it
//! accepted.
//!
//! The relay is safe on several replicas: each batch is claimed with `FOR UPDATE SKIP LOCKED`
//! and kept locked while it is sent, so one replica sends a row at a time; a replica that dies
//! after sending and before deleting leaves the rows to be sent again, which `IngestEvents`
//! (idempotent by event id) answers as duplicates. Delivery to the feed is at least once, and
//! the feed keeps each event once.
//!
//! Every outbox table has the same columns: `id uuid` (the event's UUIDv7, primary key),
//! `organization_id uuid`, `type text`, `actor_type text`, `actor_id uuid NULL`, `occurred_at
//! timestamptz`, `data jsonb`, `changed_fields text[]`, and an index on `(occurred_at, id)`.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use diesel::QueryResult;
use diesel::sql_types::{Array, BigInt, Jsonb, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use operant_proto::events::v1 as pb;
use operant_proto::events::v1::events_internal_service_client::EventsInternalServiceClient;
use serde_json::Value;
use tokio::sync::Notify;
use uuid::Uuid;

use crate::clients::ServiceChannel;
use crate::db::{self, PgPool, Prepared};
use crate::shutdown::Shutdown;

/// Most rows sent per `IngestEvents` call (the events service's limit): one call carries
/// whatever accumulated while the previous one was in flight, so a relay that falls behind
/// catches up in large batches.
pub const BATCH: i64 = 500;
/// How often the relay looks for rows when nobody wakes it (another replica's, or left by a
/// failed attempt).
pub const POLL: Duration = Duration::from_millis(500);
/// Wait after a failed attempt (the events service or the database unreachable).
const RETRY: Duration = Duration::from_secs(1);
/// Largest `IngestEvents` message the relay sends (gRPC servers take at most 4 MiB): a claimed
/// batch of large events (a task description is up to 10,000 characters, 40 KB) goes in several
/// calls.
pub const MAX_CALL_BYTES: usize = 1 << 20;
/// Longest one `IngestEvents` call may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(5);

/// Who made a change, as an event names it: the organization it happened in and the actor
/// (`USER` or `API_KEY` with its id, or `SYSTEM` without one).
pub trait EventActor {
    fn organization_id(&self) -> Uuid;
    fn actor_type(&self) -> &str;
    fn actor_id(&self) -> Option<Uuid>;
}

/// An outbox row: one event.
#[derive(Debug, Clone, PartialEq, diesel::QueryableByName)]
pub struct OutboxEvent {
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    pub organization_id: Uuid,
    #[diesel(sql_type = Text)]
    pub event_type: String,
    #[diesel(sql_type = Text)]
    pub actor_type: String,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    pub actor_id: Option<Uuid>,
    #[diesel(sql_type = Timestamptz)]
    pub occurred_at: DateTime<Utc>,
    #[diesel(sql_type = Jsonb)]
    pub data: Value,
    #[diesel(sql_type = Array<Text>)]
    pub changed_fields: Vec<String>,
}

impl OutboxEvent {
    /// `<resource>.<verb>` by `who`, about `data` (the resource after the change; a deletion:
    /// its id), with the names of the fields an update changed; a fresh UUIDv7, occurring now.
    pub fn new(who: &impl EventActor, event_type: String, data: Value, changed_fields: Vec<String>) -> Self {
        OutboxEvent {
            id: Uuid::now_v7(),
            organization_id: who.organization_id(),
            event_type,
            actor_type: who.actor_type().to_owned(),
            actor_id: who.actor_id(),
            occurred_at: Utc::now(),
            data,
            changed_fields,
        }
    }

    /// The event as `IngestEvents` takes it.
    pub fn into_proto(self) -> pb::Event {
        let data = match &self.data {
            Value::Object(map) => operant_proto::json::to_struct(map),
            _ => prost_types::Struct::default(),
        };
        pb::Event {
            id: self.id.to_string(),
            r#type: self.event_type,
            organization_id: self.organization_id.to_string(),
            actor: Some(pb::Actor {
                r#type: self.actor_type,
                id: self.actor_id.map(|id| id.to_string()).unwrap_or_default(),
            }),
            occurred_at: Some(prost_types::Timestamp {
                seconds: self.occurred_at.timestamp(),
                nanos: i32::try_from(self.occurred_at.timestamp_subsec_nanos()).unwrap_or(0),
            }),
            data: Some(data),
            changed_fields: self.changed_fields,
            cursor: String::new(),
        }
    }
}

/// `INSERT` of one event into `table`.
fn insert_sql(table: &str) -> String {
    format!(
        "INSERT INTO {table} (id, organization_id, type, actor_type, actor_id, occurred_at, data, changed_fields) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
    )
}

/// Writes `event` to the outbox `table` (a constant: it is part of the SQL text), inside the
/// caller's transaction.
pub async fn record(
    conn: &mut AsyncPgConnection,
    table: &'static str,
    event: &OutboxEvent,
) -> QueryResult<()> {
    record_with(conn, &insert_sql(table), event).await
}

async fn record_with(conn: &mut AsyncPgConnection, sql: &str, event: &OutboxEvent) -> QueryResult<()> {
    let query = diesel::sql_query(sql)
        .bind::<SqlUuid, _>(event.id)
        .bind::<SqlUuid, _>(event.organization_id)
        .bind::<Text, _>(&event.event_type)
        .bind::<Text, _>(&event.actor_type)
        .bind::<Nullable<SqlUuid>, _>(event.actor_id)
        .bind::<Timestamptz, _>(event.occurred_at)
        .bind::<Jsonb, _>(&event.data)
        .bind::<Array<Text>, _>(&event.changed_fields);
    Prepared(query).execute(conn).await.map(|_| ())
}

/// One service's outbox: its table's statements and the relay's wake-up. Clones share the
/// wake-up, so the domain hints the relay of its own process after each commit that recorded
/// an event.
#[derive(Clone)]
pub struct Outbox {
    table: &'static str,
    sql: Arc<Statements>,
    wake: Arc<Notify>,
}

struct Statements {
    insert: String,
    claim: String,
    delete: String,
}

impl Outbox {
    /// The outbox in `table` (a constant: it is part of the SQL text).
    pub fn new(table: &'static str) -> Self {
        let sql = Statements {
            insert: insert_sql(table),
            claim: format!(
                "SELECT id, organization_id, type AS event_type, actor_type, actor_id, occurred_at, data, \
                 changed_fields FROM {table} ORDER BY occurred_at, id LIMIT $1 FOR UPDATE SKIP LOCKED"
            ),
            delete: format!("DELETE FROM {table} WHERE id = ANY($1)"),
        };
        Outbox { table, sql: Arc::new(sql), wake: Arc::new(Notify::new()) }
    }

    /// The outbox table.
    pub fn table(&self) -> &'static str {
        self.table
    }

    /// Writes `event` to the outbox, inside the caller's transaction (hint after the commit).
    pub async fn record(&self, conn: &mut AsyncPgConnection, event: &OutboxEvent) -> QueryResult<()> {
        record_with(conn, &self.sql.insert, event).await
    }

    /// Tells this process's relay there is something to send.
    pub fn hint(&self) {
        self.wake.notify_one();
    }

    /// Sends one batch: claims up to [`BATCH`] rows (`SKIP LOCKED`), sends them, deletes them,
    /// all in one transaction. Returns how many were sent; an error leaves the rows for a later
    /// attempt.
    pub async fn relay_once(
        &self,
        pool: &PgPool,
        client: &EventsInternalServiceClient<ServiceChannel>,
    ) -> anyhow::Result<usize> {
        let mut conn = db::conn(pool).await?;
        let sql = &self.sql;
        conn.transaction(async |conn| {
            let rows: Vec<OutboxEvent> =
                Prepared(diesel::sql_query(&sql.claim).bind::<BigInt, _>(BATCH)).load(conn).await?;
            if rows.is_empty() {
                return Ok(0);
            }
            let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
            let events: Vec<pb::Event> = rows.into_iter().map(OutboxEvent::into_proto).collect();
            for chunk in chunks(events, MAX_CALL_BYTES) {
                let mut request = tonic::Request::new(pb::IngestEventsRequest { events: chunk });
                request.set_timeout(CALL_TIMEOUT);
                client.clone().ingest_events(request).await?;
            }
            Prepared(diesel::sql_query(&sql.delete).bind::<Array<SqlUuid>, _>(&ids)).execute(conn).await?;
            Ok(ids.len())
        })
        .await
    }

    /// Runs the relay until `shutdown`: a batch whenever [`Outbox::hint`] is called, at least
    /// every [`POLL`], after [`RETRY`] while sending fails (logged once per outage).
    pub fn spawn_relay(
        &self,
        pool: PgPool,
        client: EventsInternalServiceClient<ServiceChannel>,
        shutdown: Shutdown,
    ) {
        let outbox = self.clone();
        tokio::spawn(async move {
            let mut failing = false;
            loop {
                let wait = match outbox.relay_once(&pool, &client).await {
                    Ok(n) if n as i64 == BATCH => continue,
                    Ok(_) => {
                        if failing {
                            tracing::info!(table = outbox.table, "event relay: sending again");
                            failing = false;
                        }
                        POLL
                    }
                    Err(e) => {
                        if !failing {
                            tracing::warn!(
                                table = outbox.table,
                                error = %format!("{e:#}"),
                                "event relay: cannot send events yet; retrying"
                            );
                            failing = true;
                        }
                        RETRY
                    }
                };
                tokio::select! {
                    _ = outbox.wake.notified(), if !failing => {}
                    _ = tokio::time::sleep(wait) => {}
                    _ = shutdown.wait() => return,
                }
            }
        });
    }
}

/// `events` in order, cut into runs whose encoded size stays within `max_bytes` (an event larger
/// than that alone goes alone).
pub fn chunks(events: Vec<pb::Event>, max_bytes: usize) -> Vec<Vec<pb::Event>> {
    use prost::Message;
    let mut out: Vec<Vec<pb::Event>> = Vec::new();
    let mut size = 0;
    for event in events {
        // Each repeated field entry costs its length plus a tag and a length prefix.
        let len = event.encoded_len() + 8;
        match out.last_mut() {
            Some(last) if size + len <= max_bytes => last.push(event),
            _ => {
                out.push(vec![event]);
                size = 0;
            }
        }
        size += len;
    }
    out
}

#[cfg(test)]
mod tests {
    use prost::Message;

    use super::*;

    fn event(bytes: usize) -> pb::Event {
        pb::Event { id: "x".repeat(bytes), ..Default::default() }
    }

    #[test]
    fn chunks_keep_order_and_stay_within_the_limit() {
        let events: Vec<pb::Event> = (0..50).map(|i| event(100 + i * 40)).collect();
        let ids: Vec<String> = events.iter().map(|e| e.id.clone()).collect();
        let chunks = chunks(events, 4096);
        assert!(chunks.len() > 1);
        for chunk in &chunks {
            let request = pb::IngestEventsRequest { events: chunk.clone() };
            assert!(request.encoded_len() <= 4096, "{}", request.encoded_len());
        }
        let again: Vec<String> = chunks.into_iter().flatten().map(|e| e.id).collect();
        assert_eq!(again, ids);
    }

    #[test]
    fn an_event_over_the_limit_goes_alone() {
        let chunks = chunks(vec![event(10), event(5000), event(10)], 4096);
        assert_eq!(chunks.iter().map(Vec::len).collect::<Vec<_>>(), [1, 1, 1]);
        assert!(super::chunks(vec![], 4096).is_empty());
    }
}
