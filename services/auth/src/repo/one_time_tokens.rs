//! `one_time_tokens`: email verification and password reset tokens, stored as SHA-256 hashes.
//! Consuming one is a single conditional UPDATE, so a token is used at most once.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::schema::one_time_tokens;

/// What a one-time token is for (the `purpose` check constraint).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    EmailVerification,
    PasswordReset,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::EmailVerification => "email_verification",
            Purpose::PasswordReset => "password_reset",
        }
    }
}

pub async fn insert(
    conn: &mut AsyncPgConnection,
    hash: &[u8],
    user_id: Uuid,
    purpose: Purpose,
    expires_at: DateTime<Utc>,
) -> QueryResult<usize> {
    diesel::insert_into(one_time_tokens::table)
        .values((
            one_time_tokens::token_hash.eq(hash),
            one_time_tokens::user_id.eq(user_id),
            one_time_tokens::purpose.eq(purpose.as_str()),
            one_time_tokens::expires_at.eq(expires_at),
        ))
        .execute(conn)
        .await
}

/// Marks the token used if it is unused, unexpired and for `purpose`; returns its user.
pub async fn consume(
    conn: &mut AsyncPgConnection,
    hash: &[u8],
    purpose: Purpose,
) -> QueryResult<Option<Uuid>> {
    diesel::update(
        one_time_tokens::table
            .filter(one_time_tokens::token_hash.eq(hash))
            .filter(one_time_tokens::purpose.eq(purpose.as_str()))
            .filter(one_time_tokens::used_at.is_null())
            .filter(one_time_tokens::expires_at.gt(diesel::dsl::now)),
    )
    .set(one_time_tokens::used_at.eq(diesel::dsl::now))
    .returning(one_time_tokens::user_id)
    .get_result(conn)
    .await
    .optional()
}

/// Whether an unused token of `purpose` exists but has expired (to tell "expired" from
/// "invalid" after [`consume`] found nothing).
pub async fn is_expired(conn: &mut AsyncPgConnection, hash: &[u8], purpose: Purpose) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        one_time_tokens::table
            .filter(one_time_tokens::token_hash.eq(hash))
            .filter(one_time_tokens::purpose.eq(purpose.as_str()))
            .filter(one_time_tokens::used_at.is_null())
            .filter(one_time_tokens::expires_at.le(diesel::dsl::now)),
    ))
    .get_result(conn)
    .await
}

/// Spends every outstanding token of the user for `purpose` (after a reset, older links die).
pub async fn spend_all(conn: &mut AsyncPgConnection, user_id: Uuid, purpose: Purpose) -> QueryResult<usize> {
    diesel::update(
        one_time_tokens::table
            .filter(one_time_tokens::user_id.eq(user_id))
            .filter(one_time_tokens::purpose.eq(purpose.as_str()))
            .filter(one_time_tokens::used_at.is_null()),
    )
    .set(one_time_tokens::used_at.eq(diesel::dsl::now))
    .execute(conn)
    .await
}
