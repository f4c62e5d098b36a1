//! `audit_events`: who did what when in an organization. Rows are written by the domain inside
//! the transaction of the change they describe, so the log never disagrees with the data.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use operant_platform::keyset;
use operant_platform::paging::Cursor;
use uuid::Uuid;

use crate::schema::audit_events;

/// One audit event row.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = audit_events, check_for_backend(diesel::pg::Pg))]
pub struct AuditEventRow {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub actor_id: Uuid,
    pub action: String,
    pub target_type: String,
    pub target_id: String,
    pub details: serde_json::Value,
    pub created_at: DateTime<Utc>,
    /// `USER` or `API_KEY`: what `actor_id` names.
    pub actor_type: String,
}

/// An event to record.
#[derive(Debug, Clone)]
pub struct NewAuditEvent {
    pub actor_id: Uuid,
    pub actor_type: &'static str,
    pub action: &'static str,
    pub target_type: &'static str,
    pub target_id: String,
    pub details: serde_json::Value,
}

pub async fn insert(
    conn: &mut AsyncPgConnection,
    organization_id: Uuid,
    event: NewAuditEvent,
) -> QueryResult<()> {
    diesel::insert_into(audit_events::table)
        .values((
            audit_events::id.eq(Uuid::now_v7()),
            audit_events::organization_id.eq(organization_id),
            audit_events::actor_id.eq(event.actor_id),
            audit_events::actor_type.eq(event.actor_type),
            audit_events::action.eq(event.action),
            audit_events::target_type.eq(event.target_type),
            audit_events::target_id.eq(event.target_id),
            audit_events::details.eq(event.details),
        ))
        .execute(conn)
        .await
        .map(|_| ())
}

/// One page of the organization's events, newest first (after `after`, or `skip` rows in), and
/// how many there are.
pub async fn page(
    conn: &mut AsyncPgConnection,
    organization_id: Uuid,
    after: Option<&Cursor>,
    skip: i64,
    fetch: i64,
) -> QueryResult<(Vec<AuditEventRow>, i64)> {
    let total = audit_events::table
        .filter(audit_events::organization_id.eq(organization_id))
        .count()
        .get_result(conn)
        .await?;
    let mut query =
        audit_events::table.filter(audit_events::organization_id.eq(organization_id)).into_boxed();
    if let Some(after) = after {
        query =
            keyset!(query, audit_events::created_at, audit_events::id, after.time_value(), after.id, true);
    }
    let rows = query
        .order((audit_events::created_at.desc(), audit_events::id.desc()))
        .offset(skip)
        .limit(fetch)
        .select(AuditEventRow::as_select())
        .load(conn)
        .await?;
    Ok((rows, total))
}
