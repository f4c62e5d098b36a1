//! `sessions`: one row per login (a refresh-token family). Revoking a session also sends
//! `NOTIFY operant_session_revoked, '<sid>'` in the same transaction, so every auth process
//! (and through it every service) learns of it only once it is committed.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::Text;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::schema::sessions;

/// The channel revocations are announced on; the payload is the session id.
pub const REVOKED_CHANNEL: &str = "operant_session_revoked";

/// Why a session ended (the `revoked_reason` check constraint).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevokeReason {
    Logout,
    Revoked,
    PasswordChanged,
    PasswordReset,
    RefreshTokenReused,
}

impl RevokeReason {
    pub fn as_str(self) -> &'static str {
        match self {
            RevokeReason::Logout => "logout",
            RevokeReason::Revoked => "revoked",
            RevokeReason::PasswordChanged => "password_changed",
            RevokeReason::PasswordReset => "password_reset",
            RevokeReason::RefreshTokenReused => "refresh_token_reused",
        }
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = sessions, check_for_backend(diesel::pg::Pg))]
pub struct SessionRow {
    pub id: Uuid,
    pub created_at: DateTime<Utc>,
    pub last_used_at: DateTime<Utc>,
    pub user_agent: String,
    pub ip_address: String,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = sessions)]
pub struct NewSession<'a> {
    pub id: Uuid,
    pub user_id: Uuid,
    pub expires_at: DateTime<Utc>,
    pub user_agent: &'a str,
    pub ip_address: &'a str,
}

pub async fn insert(conn: &mut AsyncPgConnection, session: &NewSession<'_>) -> QueryResult<usize> {
    diesel::insert_into(sessions::table).values(session).execute(conn).await
}

/// The user's sessions that are neither revoked nor expired, newest first.
pub async fn list_active(conn: &mut AsyncPgConnection, user_id: Uuid) -> QueryResult<Vec<SessionRow>> {
    sessions::table
        .filter(sessions::user_id.eq(user_id))
        .filter(sessions::revoked_at.is_null())
        .filter(sessions::expires_at.gt(diesel::dsl::now))
        .order((sessions::created_at.desc(), sessions::id.desc()))
        .select(SessionRow::as_select())
        .load(conn)
        .await
}

/// Sends the revocation notification of each session (delivered at commit).
pub async fn notify_revoked(conn: &mut AsyncPgConnection, ids: &[Uuid]) -> QueryResult<()> {
    for id in ids {
        diesel::sql_query("SELECT pg_notify($1, $2)")
            .bind::<Text, _>(REVOKED_CHANNEL)
            .bind::<Text, _>(id.to_string())
            .execute(conn)
            .await?;
    }
    Ok(())
}

/// Revokes the sessions matched by `user_id` and optionally one `session_id`, except `keep`,
/// that are still active, and notifies. Returns the ids actually revoked (idempotent).
pub async fn revoke(
    conn: &mut AsyncPgConnection,
    user_id: Option<Uuid>,
    session_id: Option<Uuid>,
    keep: Option<Uuid>,
    reason: RevokeReason,
) -> QueryResult<Vec<Uuid>> {
    let mut query = diesel::update(sessions::table).filter(sessions::revoked_at.is_null()).into_boxed();
    if let Some(user_id) = user_id {
        query = query.filter(sessions::user_id.eq(user_id));
    }
    if let Some(session_id) = session_id {
        query = query.filter(sessions::id.eq(session_id));
    }
    if let Some(keep) = keep {
        query = query.filter(sessions::id.ne(keep));
    }
    let ids: Vec<Uuid> = query
        .set((sessions::revoked_at.eq(diesel::dsl::now), sessions::revoked_reason.eq(reason.as_str())))
        .returning(sessions::id)
        .get_results(conn)
        .await?;
    notify_revoked(conn, &ids).await?;
    Ok(ids)
}

/// Whether the session exists and belongs to `user_id` (revoked or not).
pub async fn belongs_to(conn: &mut AsyncPgConnection, session_id: Uuid, user_id: Uuid) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        sessions::table.filter(sessions::id.eq(session_id)).filter(sessions::user_id.eq(user_id)),
    ))
    .get_result(conn)
    .await
}

/// Sessions revoked after `since`, with their revocation time (the revocation snapshot).
pub async fn revoked_since(
    conn: &mut AsyncPgConnection,
    since: DateTime<Utc>,
) -> QueryResult<Vec<(Uuid, DateTime<Utc>)>> {
    sessions::table
        .filter(sessions::revoked_at.gt(since))
        .select((sessions::id, sessions::revoked_at.assume_not_null()))
        .load(conn)
        .await
}
