//! `signing_keys`: Ed25519 keys. The newest unretired key signs; retired keys verify until
//! `verify_until`. Creation and rotation run under a transaction-scoped advisory lock so that
//! replicas starting together never create two active keys.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::schema::signing_keys;

/// Channel announcing a new signing key (payload: its kid), so replicas reload at once.
pub const ROTATED_CHANNEL: &str = "operant_signing_key_rotated";

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = signing_keys, check_for_backend(diesel::pg::Pg))]
pub struct SigningKeyRow {
    pub kid: String,
    pub private_key: Vec<u8>,
    pub public_key: Vec<u8>,
    pub retired_at: Option<DateTime<Utc>>,
    pub verify_until: Option<DateTime<Utc>>,
}

/// Serialises key creation and rotation until the end of the transaction.
pub async fn lock(conn: &mut AsyncPgConnection) -> QueryResult<()> {
    diesel::sql_query("SELECT pg_advisory_xact_lock(hashtextextended('operant:signing_keys', 0))")
        .execute(conn)
        .await
        .map(|_| ())
}

/// Keys that may still verify tokens: the active ones first (newest first), then retired ones.
pub async fn list_usable(conn: &mut AsyncPgConnection) -> QueryResult<Vec<SigningKeyRow>> {
    signing_keys::table
        .filter(signing_keys::verify_until.is_null().or(signing_keys::verify_until.gt(diesel::dsl::now)))
        .order((signing_keys::retired_at.is_not_null(), signing_keys::created_at.desc()))
        .select(SigningKeyRow::as_select())
        .load(conn)
        .await
}

pub async fn count_active(conn: &mut AsyncPgConnection) -> QueryResult<i64> {
    signing_keys::table.filter(signing_keys::retired_at.is_null()).count().get_result(conn).await
}

pub async fn insert(
    conn: &mut AsyncPgConnection,
    kid: &str,
    private_der: &[u8],
    public: &[u8],
) -> QueryResult<usize> {
    diesel::insert_into(signing_keys::table)
        .values((
            signing_keys::kid.eq(kid),
            signing_keys::private_key.eq(private_der),
            signing_keys::public_key.eq(public),
        ))
        .execute(conn)
        .await
}

/// Retires every active key; tokens they signed verify until `verify_until`.
pub async fn retire_active(conn: &mut AsyncPgConnection, verify_until: DateTime<Utc>) -> QueryResult<usize> {
    diesel::update(signing_keys::table.filter(signing_keys::retired_at.is_null()))
        .set((signing_keys::retired_at.eq(diesel::dsl::now), signing_keys::verify_until.eq(verify_until)))
        .execute(conn)
        .await
}

pub async fn notify_rotated(conn: &mut AsyncPgConnection, kid: &str) -> QueryResult<()> {
    diesel::sql_query("SELECT pg_notify($1, $2)")
        .bind::<diesel::sql_types::Text, _>(ROTATED_CHANNEL)
        .bind::<diesel::sql_types::Text, _>(kid)
        .execute(conn)
        .await
        .map(|_| ())
}
