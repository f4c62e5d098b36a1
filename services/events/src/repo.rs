//! Queries on `events`.
//!
//! **Feed order.** An event's place in the feed is its `position` (a `bigserial`), drawn when the
//! events service accepts it. Drawing alone would not be enough: two ingest transactions may draw
//! 7 and 8 and commit 8 first, and a reader that saw 8 would skip 7 for good. So every ingest
//! first takes one transaction-level advisory lock ([`INGEST_LOCK`]); ingests run one after the
//! other, and position N is drawn only after every transaction that drew a smaller one has
//! committed or rolled back (PostgreSQL makes a commit visible before it releases the
//! transaction's locks). Whatever a reader sees up to position N is therefore final: nothing
//! committed later can land below N. Producers' ids (UUIDv7) and clocks are kept but never
//! ordered on — the commit of a producer's transaction can come long after a later one's.
//!
//! The price is that ingest is serial; relays send batches (up to [`MAX_BATCH`](crate::domain::MAX_BATCH)
//! events in one transaction) to keep it cheap.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use operant_platform::db::Prepared;
use uuid::Uuid;

use crate::schema::events;

/// Key of the advisory lock that serializes ingests ("opevents" in ASCII).
pub const INGEST_LOCK: i64 = 0x6f70_6576_656e_7473;

/// An event as stored.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = events, check_for_backend(diesel::pg::Pg))]
pub struct EventRow {
    pub position: i64,
    pub id: Uuid,
    pub organization_id: Uuid,
    pub event_type: String,
    pub actor_type: String,
    pub actor_id: Option<Uuid>,
    pub occurred_at: DateTime<Utc>,
    pub data: serde_json::Value,
    pub changed_fields: Vec<String>,
}

/// An event to accept (its position is drawn on insert).
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = events)]
pub struct NewEvent {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub event_type: String,
    pub actor_type: String,
    pub actor_id: Option<Uuid>,
    pub occurred_at: DateTime<Utc>,
    pub data: serde_json::Value,
    pub changed_fields: Vec<String>,
}

/// What one ingest kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ingested {
    /// Events new to the feed.
    pub accepted: usize,
    /// Webhook deliveries created for them (one per new event and subscribed, enabled endpoint).
    pub deliveries: usize,
}

/// Accepts `batch` in one transaction under [`INGEST_LOCK`]; events whose id is already kept
/// are skipped. In the same transaction, every new event gets a delivery row for each enabled
/// webhook endpoint of its organization subscribed to its type: an event acknowledged to its
/// relay is never without its deliveries. A new `subscription.changed` to a plan without the
/// `webhooks` feature disables the organization's endpoints (reason `plan`), each with its
/// `webhook_endpoint.disabled` event, in that transaction too.
pub async fn ingest(conn: &mut AsyncPgConnection, batch: &[NewEvent]) -> QueryResult<Ingested> {
    conn.transaction(async |conn| {
        Prepared(diesel::sql_query("SELECT pg_advisory_xact_lock($1)").bind::<BigInt, _>(INGEST_LOCK))
            .execute(conn)
            .await?;
        let accepted: Vec<(i64, Uuid)> = diesel::insert_into(events::table)
            .values(batch)
            .on_conflict(events::id)
            .do_nothing()
            .returning((events::position, events::id))
            .get_results(conn)
            .await?;
        let positions: Vec<i64> = accepted.iter().map(|(p, _)| *p).collect();
        let mut deliveries = create_deliveries(conn, &positions).await?;
        let downgraded: Vec<Uuid> = batch
            .iter()
            .filter(|e| accepted.iter().any(|(_, id)| *id == e.id) && drops_webhooks(e))
            .map(|e| e.organization_id)
            .collect();
        for organization_id in downgraded {
            let disabled = disable_for_plan(conn, organization_id).await?;
            if !disabled.is_empty() {
                let positions: Vec<i64> = diesel::insert_into(events::table)
                    .values(&disabled)
                    .returning(events::position)
                    .get_results(conn)
                    .await?;
                deliveries += create_deliveries(conn, &positions).await?;
            }
        }
        Ok(Ingested { accepted: accepted.len(), deliveries })
    })
    .await
}

/// Whether `event` moves its organization to a plan without the `webhooks` feature.
fn drops_webhooks(event: &NewEvent) -> bool {
    event.event_type == "subscription.changed"
        && event
            .data
            .get("features")
            .and_then(serde_json::Value::as_array)
            .is_some_and(|features| !features.iter().any(|f| f.as_str() == Some(crate::webhooks::FEATURE)))
}

/// Disables the organization's enabled endpoints (reason `plan`); their
/// `webhook_endpoint.disabled` events, to be accepted by the caller.
async fn disable_for_plan(conn: &mut AsyncPgConnection, organization_id: Uuid) -> QueryResult<Vec<NewEvent>> {
    use crate::schema::webhook_endpoints as w;
    let rows: Vec<(Uuid, String)> =
        diesel::update(w::table.filter(w::organization_id.eq(organization_id)).filter(w::enabled.eq(true)))
            .set((w::enabled.eq(false), w::disabled_reason.eq(Some("plan")), w::updated_at.eq(Utc::now())))
            .returning((w::id, w::url))
            .get_results(conn)
            .await?;
    Ok(rows
        .into_iter()
        .map(|(id, url)| NewEvent {
            id: Uuid::now_v7(),
            organization_id,
            event_type: "webhook_endpoint.disabled".into(),
            actor_type: "SYSTEM".into(),
            actor_id: None,
            occurred_at: Utc::now(),
            data: serde_json::json!({"id": id, "url": url, "reason": "plan", "enabled": false}),
            changed_fields: vec!["enabled".into()],
        })
        .collect())
}

/// A delivery row for each event at `positions` and each enabled endpoint of its organization
/// subscribed to its type; how many were created.
async fn create_deliveries(conn: &mut AsyncPgConnection, positions: &[i64]) -> QueryResult<usize> {
    if positions.is_empty() {
        return Ok(0);
    }
    Prepared(
        diesel::sql_query(
            "INSERT INTO webhook_deliveries (id, endpoint_id, event_position) \
             SELECT gen_random_uuid(), w.id, e.position FROM events e \
             JOIN webhook_endpoints w ON w.organization_id = e.organization_id \
              AND w.enabled AND e.type = ANY (w.event_types) \
             WHERE e.position = ANY ($1) ON CONFLICT DO NOTHING",
        )
        .bind::<Array<BigInt>, _>(positions),
    )
    .execute(conn)
    .await
}

/// The highest position committed so far (0 for an empty feed). Every position up to it is
/// final (see the module doc), so a read bounded by it misses nothing.
pub async fn head(conn: &mut AsyncPgConnection) -> QueryResult<i64> {
    events::table
        .select(diesel::dsl::max(events::position))
        .first::<Option<i64>>(conn)
        .await
        .map(Option::unwrap_or_default)
}

/// Up to `limit` events of the organization with `after < position <= upto`, oldest first,
/// of the given types (all when empty).
pub async fn page(
    conn: &mut AsyncPgConnection,
    organization_id: Uuid,
    after: i64,
    upto: i64,
    types: &[String],
    limit: i64,
) -> QueryResult<Vec<EventRow>> {
    let mut query = events::table
        .filter(events::organization_id.eq(organization_id))
        .filter(events::position.gt(after))
        .filter(events::position.le(upto))
        .into_boxed();
    if !types.is_empty() {
        query = query.filter(events::event_type.eq_any(types.to_vec()));
    }
    query.order(events::position.asc()).limit(limit).select(EventRow::as_select()).load(conn).await
}

/// Deletes up to `batch` events that occurred before `before`; rows deleted.
pub async fn purge_before(
    conn: &mut AsyncPgConnection,
    before: DateTime<Utc>,
    batch: i64,
) -> QueryResult<usize> {
    let doomed = events::table
        .filter(events::occurred_at.lt(before))
        .select(events::position)
        .limit(batch)
        .load::<i64>(conn)
        .await?;
    if doomed.is_empty() {
        return Ok(0);
    }
    diesel::delete(events::table.filter(events::position.eq_any(doomed))).execute(conn).await
}
