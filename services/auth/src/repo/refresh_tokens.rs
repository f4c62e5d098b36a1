//! `refresh_tokens`: SHA-256 hashes of opaque refresh tokens. A token is spent and its successor
//! issued by ONE statement ([`rotate`]), so of two concurrent refreshes with the same token the
//! row lock lets exactly one through. Spent tokens stay as evidence for reuse detection and
//! point at their successor (`successor_hash`); for the refresh grace window a spent token also
//! holds what makes the successor pair again, sealed with the master key (`successor_sealed`,
//! written by the same [`rotate`]), cleared when the successor is rotated ([`rotate`]), the
//! session revoked ([`forget_successors`]) or the window over ([`forget_expired_successors`]).

use chrono::{DateTime, Utc};
use diesel::QueryableByName;
use diesel::prelude::*;
use diesel::sql_types::{Bool, Bytea, Double, Nullable, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use operant_platform::db::Prepared;
use uuid::Uuid;

use crate::schema::refresh_tokens;

pub async fn insert(
    conn: &mut AsyncPgConnection,
    hash: &[u8],
    session_id: Uuid,
    expires_at: DateTime<Utc>,
) -> QueryResult<usize> {
    diesel::insert_into(refresh_tokens::table)
        .values((
            refresh_tokens::token_hash.eq(hash),
            refresh_tokens::session_id.eq(session_id),
            refresh_tokens::expires_at.eq(expires_at),
        ))
        .execute(conn)
        .await
}

#[derive(Debug, QueryableByName)]
pub struct Rotated {
    #[diesel(sql_type = SqlUuid)]
    pub session_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    pub user_id: Uuid,
}

/// Spends `old_hash` and stores `new_hash` as its successor, in one statement; the spent token
/// keeps `sealed` (the grace's sealed successor, `None` without a grace). Succeeds only if
/// the old token is unused and unexpired and its session is active and its user is active;
/// otherwise nothing changes and `None` is returned (see [`inspect`] for why). The sealed pair
/// kept by the old token's predecessor is dropped: that token is now two rotations back and a
/// retry with it is reuse.
pub async fn rotate(
    conn: &mut AsyncPgConnection,
    old_hash: &[u8],
    new_hash: &[u8],
    expires_at: DateTime<Utc>,
    sealed: Option<&[u8]>,
) -> QueryResult<Option<Rotated>> {
    Prepared(
        diesel::sql_query(
            "WITH spent AS ( \
               UPDATE refresh_tokens rt SET used_at = now(), successor_hash = $2, successor_sealed = $4 \
               WHERE rt.token_hash = $1 AND rt.used_at IS NULL AND rt.expires_at > now() \
                 AND EXISTS (SELECT 1 FROM sessions s JOIN users u ON u.id = s.user_id \
                             WHERE s.id = rt.session_id AND s.revoked_at IS NULL \
                               AND s.expires_at > now() AND u.is_active) \
               RETURNING rt.session_id \
             ), forgotten AS ( \
               UPDATE refresh_tokens p SET successor_sealed = NULL \
               WHERE p.successor_hash = $1 AND p.successor_sealed IS NOT NULL \
                 AND EXISTS (SELECT 1 FROM spent) \
             ), touched AS ( \
               UPDATE sessions s SET last_used_at = now(), expires_at = greatest(s.expires_at, $3) \
               FROM spent WHERE s.id = spent.session_id AND s.revoked_at IS NULL \
               RETURNING s.id, s.user_id \
             ), successor AS ( \
               INSERT INTO refresh_tokens (token_hash, session_id, expires_at) \
               SELECT $2, touched.id, $3 FROM touched \
               RETURNING session_id \
             ) \
             SELECT touched.id AS session_id, touched.user_id FROM touched \
             JOIN successor ON successor.session_id = touched.id",
        )
        .bind::<Bytea, _>(old_hash)
        .bind::<Bytea, _>(new_hash)
        .bind::<Timestamptz, _>(expires_at)
        .bind::<Nullable<Bytea>, _>(sealed),
    )
    .get_result(conn)
    .await
    .optional()
}

/// What is known about a refresh token that could not be rotated.
#[derive(Debug, QueryableByName)]
pub struct TokenState {
    #[diesel(sql_type = SqlUuid)]
    pub session_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    pub user_id: Uuid,
    #[diesel(sql_type = Bool)]
    pub used: bool,
    #[diesel(sql_type = Bool)]
    pub expired: bool,
    #[diesel(sql_type = Bool)]
    pub session_revoked: bool,
    #[diesel(sql_type = Bool)]
    pub session_expired: bool,
    #[diesel(sql_type = Bool)]
    pub user_active: bool,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub used_at: Option<DateTime<Utc>>,
    /// Spent less than the grace ago, and its successor not spent yet: the just-rotated token.
    #[diesel(sql_type = Bool)]
    pub in_grace: bool,
    /// The sealed successor, only while [`Self::in_grace`].
    #[diesel(sql_type = Nullable<Bytea>)]
    pub successor_sealed: Option<Vec<u8>>,
}

/// The state of a token; `grace_secs` is the refresh grace window.
pub async fn inspect(
    conn: &mut AsyncPgConnection,
    hash: &[u8],
    grace_secs: f64,
) -> QueryResult<Option<TokenState>> {
    // Prepared: every retried, parallel or refused refresh runs it.
    Prepared(
        diesel::sql_query(
            "SELECT rt.session_id, s.user_id, rt.used_at IS NOT NULL AS used, rt.expires_at <= now() AS expired, \
                    s.revoked_at IS NOT NULL AS session_revoked, s.expires_at <= now() AS session_expired, \
                    u.is_active AS user_active, rt.used_at, g.in_grace, \
                    CASE WHEN g.in_grace THEN rt.successor_sealed END AS successor_sealed \
             FROM refresh_tokens rt JOIN sessions s ON s.id = rt.session_id JOIN users u ON u.id = s.user_id \
             LEFT JOIN refresh_tokens c ON c.token_hash = rt.successor_hash \
             CROSS JOIN LATERAL (SELECT coalesce(rt.used_at > now() - make_interval(secs => $2) \
                                                 AND c.used_at IS NULL, false) AS in_grace) g \
             WHERE rt.token_hash = $1",
        )
        .bind::<Bytea, _>(hash)
        .bind::<Double, _>(grace_secs),
    )
    .get_result(conn)
    .await
    .optional()
}

/// Drops every sealed successor pair of a session (it was revoked: nothing may be returned).
pub async fn forget_successors(conn: &mut AsyncPgConnection, session_id: Uuid) -> QueryResult<usize> {
    diesel::update(
        refresh_tokens::table
            .filter(refresh_tokens::session_id.eq(session_id))
            .filter(refresh_tokens::successor_sealed.is_not_null()),
    )
    .set(refresh_tokens::successor_sealed.eq(None::<Vec<u8>>))
    .execute(conn)
    .await
}

/// Drops the sealed successor pairs whose grace window ended more than `grace_secs` ago.
pub async fn forget_expired_successors(conn: &mut AsyncPgConnection, grace_secs: f64) -> QueryResult<usize> {
    diesel::sql_query(
        "UPDATE refresh_tokens SET successor_sealed = NULL \
         WHERE successor_sealed IS NOT NULL AND used_at <= now() - make_interval(secs => $1)",
    )
    .bind::<Double, _>(grace_secs)
    .execute(conn)
    .await
}

/// The session (and its user) a refresh token belongs to, whatever its state.
pub async fn session_of(conn: &mut AsyncPgConnection, hash: &[u8]) -> QueryResult<Option<Uuid>> {
    refresh_tokens::table.find(hash).select(refresh_tokens::session_id).first(conn).await.optional()
}
