//! Email verification and password reset with single-use, expiring tokens (stored hashed).
//!
//! The mail carrying a link is written to the outbox in the same transaction as its token
//! ([`crate::mailer::write`]) and delivered by the outbox worker after the commit, so a mail
//! server that is down neither fails nor slows the request. A password reset request answers
//! the same way whether or not the account exists.

use chrono::Utc;
use diesel_async::AsyncConnection;
use uuid::Uuid;

use crate::error::{AuthError, AuthResult};
use crate::mailer::{self, EmailKind};
use crate::passwords;
use crate::repo::one_time_tokens::{self, Purpose};
use crate::repo::sessions::{self as sessions_repo, RevokeReason};
use crate::repo::users::{self, UserRow};
use crate::secrets;
use crate::state::AuthState;
use crate::validate;

/// Lifetime of an email verification link.
pub const VERIFICATION_TTL: chrono::Duration = chrono::Duration::hours(24);
/// Lifetime of a password reset link.
pub const RESET_TTL: chrono::Duration = chrono::Duration::hours(1);

/// Stores a new token for `user` and, in the same transaction, the mail carrying its link;
/// then wakes this replica's outbox worker.
async fn issue(state: &AuthState, user: &UserRow, purpose: Purpose) -> AuthResult<()> {
    let (ttl, path, kind) = match purpose {
        Purpose::EmailVerification => (VERIFICATION_TTL, "verify-email", EmailKind::VerifyEmail),
        Purpose::PasswordReset => (RESET_TTL, "reset-password", EmailKind::ResetPassword),
    };
    let token = secrets::random_token();
    let base = state.settings.public_url.trim_end_matches('/');
    let link = format!("{base}/{path}?token={token}");
    let mut conn = state.conn().await?;
    let outbox = state.mail.outbox();
    let id = conn
        .transaction::<_, AuthError, _>(async |conn| {
            one_time_tokens::insert(conn, &secrets::hash_token(&token), user.id, purpose, Utc::now() + ttl)
                .await?;
            mailer::write(conn, outbox, &user.email, kind, link)
                .await
                .map_err(|e| AuthError::internal(format!("writing the mail: {e:#}")))
        })
        .await?;
    state.mail.hint(id);
    Ok(())
}

/// Consumes a token inside a transaction; `INVALID_TOKEN` or `ONE_TIME_TOKEN_EXPIRED` otherwise.
async fn consume(
    conn: &mut diesel_async::AsyncPgConnection,
    token: &str,
    purpose: Purpose,
) -> AuthResult<Uuid> {
    let hash = secrets::hash_token(token);
    if let Some(user_id) = one_time_tokens::consume(conn, &hash, purpose).await? {
        return Ok(user_id);
    }
    if one_time_tokens::is_expired(conn, &hash, purpose).await? {
        Err(AuthError::OneTimeTokenExpired)
    } else {
        Err(AuthError::InvalidToken)
    }
}

fn required_token(token: &str) -> AuthResult<&str> {
    let token = token.trim();
    if token.is_empty() {
        return Err(AuthError::invalid("token", "is required"));
    }
    Ok(token)
}

/// Sends the caller a verification link (nothing to do when already verified).
pub async fn request_email_verification(state: &AuthState, user_id: Uuid) -> AuthResult<()> {
    let user = super::accounts::current_user(state, user_id).await?;
    if user.email_verified {
        return Ok(());
    }
    issue(state, &user, Purpose::EmailVerification).await
}

pub async fn confirm_email_verification(state: &AuthState, token: &str) -> AuthResult<UserRow> {
    let token = required_token(token)?;
    let mut conn = state.conn().await?;
    conn.transaction::<_, AuthError, _>(async |conn| {
        let user_id = consume(conn, token, Purpose::EmailVerification).await?;
        users::mark_email_verified(conn, user_id).await?.ok_or(AuthError::InvalidToken)
    })
    .await
}

/// Sends a reset link when an active account has this email; always succeeds.
pub async fn request_password_reset(state: &AuthState, email: &str) -> AuthResult<()> {
    let email = validate::email("email", email)?;
    let user = {
        let mut conn = state.conn().await?;
        users::find_by_email(&mut conn, &email).await?
    };
    let Some(user) = user.filter(|u| u.is_active) else {
        tracing::debug!("password reset requested for an unknown or inactive account");
        return Ok(());
    };
    issue(state, &user, Purpose::PasswordReset).await?;
    Ok(())
}

/// Sets a new password with a reset token, spends the user's other reset tokens and revokes
/// every session of the user.
pub async fn confirm_password_reset(state: &AuthState, token: &str, new_password: String) -> AuthResult<()> {
    let token = required_token(token)?;
    validate::password("new_password", &new_password)?;
    let hash = passwords::hash(new_password, state.settings.tokens.bcrypt_cost).await?;
    let mut conn = state.conn().await?;
    let revoked = conn
        .transaction::<_, AuthError, _>(async |conn| {
            let user_id = consume(conn, token, Purpose::PasswordReset).await?;
            users::set_password(conn, user_id, &hash).await?;
            one_time_tokens::spend_all(conn, user_id, Purpose::PasswordReset).await?;
            Ok(sessions_repo::revoke(conn, Some(user_id), None, None, RevokeReason::PasswordReset).await?)
        })
        .await?;
    state.revoked_locally(&revoked);
    Ok(())
}
