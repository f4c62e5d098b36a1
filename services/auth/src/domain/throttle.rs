//! Login throttling, atomic in PostgreSQL.
//!
//! Before a password is checked, one attempt is reserved on each key — `email:<normalised
//! email>` (5 per 15 minutes) and `ip:<client address>` (20 per 15 minutes) — with a single
//! upsert that returns the new count. Row locking makes the count exact under concurrency, so of
//! 20 parallel wrong-password attempts at most 5 reach bcrypt. A successful login resets the
//! email key and gives its reservation back to the address key, so only failures accumulate.

use std::net::IpAddr;
use std::time::Duration;

use chrono::Utc;
use diesel_async::AsyncPgConnection;

use crate::error::{AuthError, AuthResult};
use crate::repo::login_attempts;

pub const WINDOW: Duration = Duration::from_secs(15 * 60);
pub const EMAIL_LIMIT: i32 = 5;
pub const IP_LIMIT: i32 = 20;

pub fn email_key(email: &str) -> String {
    format!("email:{email}")
}

pub fn ip_key(ip: IpAddr) -> String {
    format!("ip:{ip}")
}

/// Reserves one attempt on `key`; over `limit` it is 429 with the time until the window ends.
pub async fn reserve(conn: &mut AsyncPgConnection, key: &str, limit: i32) -> AuthResult<()> {
    let counter = login_attempts::reserve(conn, key, WINDOW.as_secs_f64()).await?;
    if counter.failures > limit {
        let window_end = counter.window_start + chrono::Duration::from_std(WINDOW).unwrap_or_default();
        let left = (window_end - Utc::now()).num_seconds().max(1);
        return Err(AuthError::TooManyAttempts { retry_after: Duration::from_secs(left.unsigned_abs()) });
    }
    Ok(())
}

/// After a successful login: forget the email's failures, give the address's attempt back.
pub async fn succeeded(
    conn: &mut AsyncPgConnection,
    email_key: &str,
    ip_key: Option<&str>,
) -> AuthResult<()> {
    login_attempts::reset(conn, email_key).await?;
    if let Some(ip_key) = ip_key {
        login_attempts::release(conn, ip_key).await?;
    }
    Ok(())
}
