//! Queries on `webhook_endpoints`, `webhook_deliveries` and `webhook_attempts`.
//!
//! **Claiming.** A worker claims due deliveries with `FOR UPDATE SKIP LOCKED` inside a
//! transaction that it keeps open while it sends them and records the outcomes: two workers
//! never take the same row (the second skips it), and a worker killed mid-delivery loses its
//! connection, so PostgreSQL rolls its transaction back, releases the rows, and another worker
//! claims them on its next round. Nothing is written to claim a row, so a delivery costs one
//! insert (at ingest), one update (its outcome) and its attempt's row.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Int4, Int8, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use operant_platform::db::Prepared;
use operant_platform::keyset;
use operant_platform::paging::Cursor;
use uuid::Uuid;

use crate::repo::EventRow;
use crate::schema::{events, webhook_attempts, webhook_endpoints};

/// An endpoint as stored (secrets sealed).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = webhook_endpoints, check_for_backend(diesel::pg::Pg))]
pub struct EndpointRow {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub url: String,
    pub event_types: Vec<String>,
    pub description: String,
    pub enabled: bool,
    pub disabled_reason: Option<String>,
    pub secret: Vec<u8>,
    pub previous_secret: Option<Vec<u8>>,
    pub previous_secret_expires_at: Option<DateTime<Utc>>,
    pub failing_since: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A new endpoint.
#[derive(Debug, Insertable)]
#[diesel(table_name = webhook_endpoints)]
pub struct NewEndpoint {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub url: String,
    pub event_types: Vec<String>,
    pub description: String,
    pub secret: Vec<u8>,
}

/// The fields an update changes (`None`: unchanged).
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = webhook_endpoints)]
pub struct EndpointChanges {
    pub url: Option<String>,
    pub event_types: Option<Vec<String>>,
    pub enabled: Option<bool>,
    pub description: Option<String>,
    /// `Some(None)` clears it (on enabling).
    pub disabled_reason: Option<Option<String>>,
    pub failing_since: Option<Option<DateTime<Utc>>>,
    pub updated_at: Option<DateTime<Utc>>,
}

/// One attempt as logged.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = webhook_attempts, check_for_backend(diesel::pg::Pg))]
pub struct AttemptRow {
    pub id: Uuid,
    pub delivery_id: Uuid,
    pub endpoint_id: Uuid,
    pub event_id: Uuid,
    pub event_type: String,
    pub attempt: i32,
    pub attempted_at: DateTime<Utc>,
    pub status_code: Option<i32>,
    pub latency_ms: i64,
    pub error: Option<String>,
    pub delivered: bool,
    pub next_retry_at: Option<DateTime<Utc>>,
}

/// Takes a transaction-level lock on the organization's endpoints (the count limit holds under
/// concurrent creates).
pub async fn lock_organization(conn: &mut AsyncPgConnection, organization_id: Uuid) -> QueryResult<()> {
    diesel::sql_query("SELECT pg_advisory_xact_lock(hashtextextended('webhooks:' || $1::text, 0))")
        .bind::<SqlUuid, _>(organization_id)
        .execute(conn)
        .await
        .map(|_| ())
}

pub async fn count(conn: &mut AsyncPgConnection, organization_id: Uuid) -> QueryResult<i64> {
    webhook_endpoints::table
        .filter(webhook_endpoints::organization_id.eq(organization_id))
        .count()
        .get_result(conn)
        .await
}

pub async fn insert(conn: &mut AsyncPgConnection, new: &NewEndpoint) -> QueryResult<EndpointRow> {
    diesel::insert_into(webhook_endpoints::table)
        .values(new)
        .returning(EndpointRow::as_returning())
        .get_result(conn)
        .await
}

pub async fn find(
    conn: &mut AsyncPgConnection,
    organization_id: Uuid,
    id: Uuid,
) -> QueryResult<Option<EndpointRow>> {
    webhook_endpoints::table
        .filter(webhook_endpoints::organization_id.eq(organization_id))
        .filter(webhook_endpoints::id.eq(id))
        .select(EndpointRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// The endpoints with these ids (the worker's batch).
pub async fn by_ids(conn: &mut AsyncPgConnection, ids: &[Uuid]) -> QueryResult<Vec<EndpointRow>> {
    webhook_endpoints::table
        .filter(webhook_endpoints::id.eq_any(ids))
        .select(EndpointRow::as_select())
        .load(conn)
        .await
}

/// A page of the organization's endpoints, oldest first, and their count.
pub async fn page(
    conn: &mut AsyncPgConnection,
    organization_id: Uuid,
    after: Option<&Cursor>,
    skip: i64,
    fetch: i64,
) -> QueryResult<(Vec<EndpointRow>, i64)> {
    let total = count(conn, organization_id).await?;
    let mut query =
        webhook_endpoints::table.filter(webhook_endpoints::organization_id.eq(organization_id)).into_boxed();
    if let Some(after) = after {
        query = keyset!(
            query,
            webhook_endpoints::created_at,
            webhook_endpoints::id,
            after.time_value(),
            after.id,
            false
        );
    }
    let rows = query
        .order((webhook_endpoints::created_at.asc(), webhook_endpoints::id.asc()))
        .offset(skip)
        .limit(fetch)
        .select(EndpointRow::as_select())
        .load(conn)
        .await?;
    Ok((rows, total))
}

pub async fn update(
    conn: &mut AsyncPgConnection,
    organization_id: Uuid,
    id: Uuid,
    changes: &EndpointChanges,
) -> QueryResult<Option<EndpointRow>> {
    diesel::update(
        webhook_endpoints::table
            .filter(webhook_endpoints::organization_id.eq(organization_id))
            .filter(webhook_endpoints::id.eq(id)),
    )
    .set(changes)
    .returning(EndpointRow::as_returning())
    .get_result(conn)
    .await
    .optional()
}

/// Stores a rotated secret: the new one current, the old one previous until `until`.
pub async fn rotate(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    secret: &[u8],
    previous: &[u8],
    until: DateTime<Utc>,
) -> QueryResult<EndpointRow> {
    diesel::update(webhook_endpoints::table.filter(webhook_endpoints::id.eq(id)))
        .set((
            webhook_endpoints::secret.eq(secret),
            webhook_endpoints::previous_secret.eq(Some(previous)),
            webhook_endpoints::previous_secret_expires_at.eq(Some(until)),
            webhook_endpoints::updated_at.eq(Utc::now()),
        ))
        .returning(EndpointRow::as_returning())
        .get_result(conn)
        .await
}

pub async fn delete(conn: &mut AsyncPgConnection, organization_id: Uuid, id: Uuid) -> QueryResult<usize> {
    diesel::delete(
        webhook_endpoints::table
            .filter(webhook_endpoints::organization_id.eq(organization_id))
            .filter(webhook_endpoints::id.eq(id)),
    )
    .execute(conn)
    .await
}

/// A page of an endpoint's attempts, newest first, and their count.
pub async fn attempts_page(
    conn: &mut AsyncPgConnection,
    endpoint_id: Uuid,
    after: Option<&Cursor>,
    skip: i64,
    fetch: i64,
) -> QueryResult<(Vec<AttemptRow>, i64)> {
    let listed = || webhook_attempts::table.filter(webhook_attempts::endpoint_id.eq(endpoint_id));
    let total = listed().count().get_result(conn).await?;
    let mut query = listed().into_boxed();
    if let Some(after) = after {
        query = keyset!(
            query,
            webhook_attempts::attempted_at,
            webhook_attempts::id,
            after.time_value(),
            after.id,
            true
        );
    }
    let rows = query
        .order((webhook_attempts::attempted_at.desc(), webhook_attempts::id.desc()))
        .offset(skip)
        .limit(fetch)
        .select(AttemptRow::as_select())
        .load(conn)
        .await?;
    Ok((rows, total))
}

/// A delivery a worker has claimed.
#[derive(Debug, Clone, QueryableByName)]
pub struct Claimed {
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    pub endpoint_id: Uuid,
    #[diesel(sql_type = Int8)]
    pub event_position: i64,
    /// The number of this attempt (1 for the first).
    #[diesel(sql_type = Int4)]
    pub attempts: i32,
    #[diesel(sql_type = Timestamptz)]
    pub created_at: DateTime<Utc>,
}

/// Locks up to `limit` due deliveries of enabled endpoints (see the module doc); call it in the
/// transaction that records their outcomes.
pub async fn claim(conn: &mut AsyncPgConnection, limit: i64) -> QueryResult<Vec<Claimed>> {
    Prepared(
        diesel::sql_query(
            "SELECT d.id, d.endpoint_id, d.event_position, d.attempts + 1 AS attempts, d.created_at \
               FROM webhook_deliveries d \
               JOIN webhook_endpoints w ON w.id = d.endpoint_id AND w.enabled \
              WHERE d.state = 'PENDING' AND d.next_attempt_at <= now() \
              ORDER BY d.next_attempt_at LIMIT $1 FOR UPDATE OF d SKIP LOCKED",
        )
        .bind::<BigInt, _>(limit),
    )
    .load(conn)
    .await
}

/// The events at these positions.
pub async fn events_at(conn: &mut AsyncPgConnection, positions: &[i64]) -> QueryResult<Vec<EventRow>> {
    events::table.filter(events::position.eq_any(positions)).select(EventRow::as_select()).load(conn).await
}

/// Writes a claimed delivery's failed attempt: `next` = `Some` → due again then, `None` →
/// `state` (`FAILED`) for good.
pub async fn finish(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    state: &str,
    next: Option<DateTime<Utc>>,
) -> QueryResult<()> {
    Prepared(
        diesel::sql_query(
            "UPDATE webhook_deliveries SET state = $2, attempts = attempts + 1, \
                next_attempt_at = COALESCE($3, next_attempt_at) \
              WHERE id = $1",
        )
        .bind::<SqlUuid, _>(id)
        .bind::<Text, _>(state)
        .bind::<Nullable<Timestamptz>, _>(next),
    )
    .execute(conn)
    .await
    .map(|_| ())
}

/// Writes the outcome of claimed deliveries that were all delivered, in ONE statement: the
/// attempts logged, the deliveries marked `DELIVERED`, and their endpoints no longer failing.
pub async fn finish_delivered(conn: &mut AsyncPgConnection, attempts: &[AttemptRow]) -> QueryResult<usize> {
    let mut ids = Vec::with_capacity(attempts.len());
    let mut deliveries = Vec::with_capacity(attempts.len());
    let mut endpoints = Vec::with_capacity(attempts.len());
    let mut events = Vec::with_capacity(attempts.len());
    let mut types = Vec::with_capacity(attempts.len());
    let mut numbers = Vec::with_capacity(attempts.len());
    let mut at = Vec::with_capacity(attempts.len());
    let mut statuses = Vec::with_capacity(attempts.len());
    let mut latencies = Vec::with_capacity(attempts.len());
    for a in attempts {
        ids.push(a.id);
        deliveries.push(a.delivery_id);
        endpoints.push(a.endpoint_id);
        events.push(a.event_id);
        types.push(a.event_type.as_str());
        numbers.push(a.attempt);
        at.push(a.attempted_at);
        statuses.push(a.status_code.unwrap_or(200));
        latencies.push(a.latency_ms);
    }
    Prepared(
        diesel::sql_query(
            "WITH logged AS ( \
               INSERT INTO webhook_attempts (id, delivery_id, endpoint_id, event_id, event_type, attempt, \
                 attempted_at, status_code, latency_ms, error, delivered, next_retry_at) \
               SELECT a.id, a.delivery_id, a.endpoint_id, a.event_id, a.event_type, a.attempt, \
                 a.attempted_at, a.status_code, a.latency_ms, NULL, true, NULL \
               FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::uuid[], $5::text[], $6::int4[], \
                 $7::timestamptz[], $8::int4[], $9::int8[]) \
                 AS a(id, delivery_id, endpoint_id, event_id, event_type, attempt, attempted_at, \
                 status_code, latency_ms)), \
             healthy AS ( \
               UPDATE webhook_endpoints SET failing_since = NULL \
                WHERE id = ANY ($3) AND failing_since IS NOT NULL) \
             UPDATE webhook_deliveries SET state = 'DELIVERED', attempts = attempts + 1 \
              WHERE id = ANY ($2)",
        )
        .bind::<Array<SqlUuid>, _>(&ids)
        .bind::<Array<SqlUuid>, _>(&deliveries)
        .bind::<Array<SqlUuid>, _>(&endpoints)
        .bind::<Array<SqlUuid>, _>(&events)
        .bind::<Array<Text>, _>(&types)
        .bind::<Array<Int4>, _>(&numbers)
        .bind::<Array<Timestamptz>, _>(&at)
        .bind::<Array<Int4>, _>(&statuses)
        .bind::<Array<Int8>, _>(&latencies),
    )
    .execute(conn)
    .await
}

pub async fn log_attempt(conn: &mut AsyncPgConnection, attempt: &AttemptRow) -> QueryResult<()> {
    diesel::insert_into(webhook_attempts::table).values(attempt).execute(conn).await.map(|_| ())
}

/// A failure: the endpoint is failing since its first failure in a row; returns that time.
pub async fn mark_failing(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    at: DateTime<Utc>,
) -> QueryResult<DateTime<Utc>> {
    #[derive(QueryableByName)]
    struct Since {
        #[diesel(sql_type = Timestamptz)]
        failing_since: DateTime<Utc>,
    }
    diesel::sql_query(
        "UPDATE webhook_endpoints SET failing_since = COALESCE(failing_since, $2) WHERE id = $1 \
         RETURNING failing_since",
    )
    .bind::<SqlUuid, _>(id)
    .bind::<Timestamptz, _>(at)
    .get_result::<Since>(conn)
    .await
    .map(|s| s.failing_since)
}

/// Disables an enabled endpoint with `reason`; the row when it was enabled until now.
pub async fn disable(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    reason: &str,
) -> QueryResult<Option<EndpointRow>> {
    diesel::update(
        webhook_endpoints::table
            .filter(webhook_endpoints::id.eq(id))
            .filter(webhook_endpoints::enabled.eq(true)),
    )
    .set((
        webhook_endpoints::enabled.eq(false),
        webhook_endpoints::disabled_reason.eq(Some(reason)),
        webhook_endpoints::updated_at.eq(Utc::now()),
    ))
    .returning(EndpointRow::as_returning())
    .get_result(conn)
    .await
    .optional()
}
