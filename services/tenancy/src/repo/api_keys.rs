//! `api_keys`: organization API keys, stored by the SHA-256 digest of their secret. A key is
//! *active* while it is neither revoked nor expired; only active keys count against the plan.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use operant_platform::db::Prepared;
use operant_platform::keyset;
use operant_platform::paging::Cursor;
use uuid::Uuid;

use crate::plans::{Plan, Role};
use crate::schema::{api_keys, subscriptions};

/// The channel every revocation is announced on (payload: the key id), committed with it.
pub const REVOKED_CHANNEL: &str = "operant_api_key_revoked";

/// One key row (the digest left out: it is only ever compared, in [`find_by_digest`]).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = api_keys, check_for_backend(diesel::pg::Pg))]
pub struct ApiKeyRow {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub name: String,
    pub role: Role,
    pub prefix: String,
    pub created_by: Uuid,
    pub created_by_type: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
}

/// A key to insert.
#[derive(Debug, Insertable)]
#[diesel(table_name = api_keys)]
pub struct NewApiKey<'a> {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub name: &'a str,
    pub role: Role,
    pub prefix: &'a str,
    pub digest: &'a [u8],
    pub created_by: Uuid,
    pub created_by_type: &'static str,
    pub expires_at: Option<DateTime<Utc>>,
}

pub async fn insert(conn: &mut AsyncPgConnection, key: &NewApiKey<'_>) -> QueryResult<ApiKeyRow> {
    diesel::insert_into(api_keys::table)
        .values(key)
        .returning(ApiKeyRow::as_returning())
        .get_result(conn)
        .await
}

/// Active keys of the organization (the plan limit's usage).
pub async fn count_active(conn: &mut AsyncPgConnection, organization_id: Uuid) -> QueryResult<i64> {
    api_keys::table
        .filter(api_keys::organization_id.eq(organization_id))
        .filter(api_keys::revoked_at.is_null())
        .filter(api_keys::expires_at.is_null().or(api_keys::expires_at.gt(diesel::dsl::now)))
        .count()
        .get_result(conn)
        .await
}

/// One page of the organization's keys that are not revoked, newest first (after `after`, or
/// `skip` rows in), and their number.
pub async fn page(
    conn: &mut AsyncPgConnection,
    organization_id: Uuid,
    after: Option<&Cursor>,
    skip: i64,
    fetch: i64,
) -> QueryResult<(Vec<ApiKeyRow>, i64)> {
    let listed = || {
        api_keys::table
            .filter(api_keys::organization_id.eq(organization_id))
            .filter(api_keys::revoked_at.is_null())
    };
    let total = listed().count().get_result(conn).await?;
    let mut query = listed().into_boxed();
    if let Some(after) = after {
        query = keyset!(query, api_keys::created_at, api_keys::id, after.time_value(), after.id, true);
    }
    let rows = query
        .order((api_keys::created_at.desc(), api_keys::id.desc()))
        .offset(skip)
        .limit(fetch)
        .select(ApiKeyRow::as_select())
        .load(conn)
        .await?;
    Ok((rows, total))
}

/// The key whose secret has this digest (revoked and expired ones included: the caller says why
/// a key is refused).
pub async fn find_by_digest(conn: &mut AsyncPgConnection, digest: &[u8]) -> QueryResult<Option<ApiKeyRow>> {
    api_keys::table
        .filter(api_keys::digest.eq(digest))
        .select(ApiKeyRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// Records a use, at most once a minute per key (a no-op otherwise).
pub async fn touch(conn: &mut AsyncPgConnection, key_id: Uuid) -> QueryResult<usize> {
    Prepared(
        diesel::sql_query(
            "UPDATE api_keys SET last_used_at = now() WHERE id = $1 \
             AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')",
        )
        .bind::<diesel::sql_types::Uuid, _>(key_id),
    )
    .execute(conn)
    .await
}

/// The key's role and the organization's plan while the key is active; `None` otherwise (also
/// when it belongs to another organization). The `Authorize` path of a key, never cached.
pub async fn access(
    conn: &mut AsyncPgConnection,
    organization_id: Uuid,
    key_id: Uuid,
) -> QueryResult<Option<(Role, Plan)>> {
    api_keys::table
        .inner_join(subscriptions::table.on(subscriptions::organization_id.eq(api_keys::organization_id)))
        .filter(api_keys::id.eq(key_id))
        .filter(api_keys::organization_id.eq(organization_id))
        .filter(api_keys::revoked_at.is_null())
        .filter(api_keys::expires_at.is_null().or(api_keys::expires_at.gt(diesel::dsl::now)))
        .select((api_keys::role, subscriptions::plan))
        .first(conn)
        .await
        .optional()
}

/// Revokes an active or expired key of the organization; `None` when there is no such key or it
/// was already revoked.
pub async fn revoke(
    conn: &mut AsyncPgConnection,
    organization_id: Uuid,
    key_id: Uuid,
) -> QueryResult<Option<ApiKeyRow>> {
    let row = diesel::update(
        api_keys::table
            .filter(api_keys::id.eq(key_id))
            .filter(api_keys::organization_id.eq(organization_id))
            .filter(api_keys::revoked_at.is_null()),
    )
    .set(api_keys::revoked_at.eq(diesel::dsl::now))
    .returning(ApiKeyRow::as_returning())
    .get_result(conn)
    .await
    .optional()?;
    super::standings::announce(conn, organization_id).await?;
    Ok(row)
}

/// Ids of every key of the organization that is not revoked (announced when it is deleted).
pub async fn unrevoked_ids(conn: &mut AsyncPgConnection, organization_id: Uuid) -> QueryResult<Vec<Uuid>> {
    api_keys::table
        .filter(api_keys::organization_id.eq(organization_id))
        .filter(api_keys::revoked_at.is_null())
        .select(api_keys::id)
        .load(conn)
        .await
}

/// Announces a revocation to every tenancy replica, delivered when the transaction commits.
pub async fn notify_revoked(conn: &mut AsyncPgConnection, key_id: Uuid) -> QueryResult<()> {
    Prepared(
        diesel::sql_query("SELECT pg_notify($1, $2)")
            .bind::<diesel::sql_types::Text, _>(REVOKED_CHANNEL)
            .bind::<diesel::sql_types::Text, _>(key_id.to_string()),
    )
    .execute(conn)
    .await
    .map(|_| ())
}
