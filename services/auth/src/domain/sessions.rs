//! Sessions and rotating refresh tokens.
//!
//! A session is one login; its refresh tokens form a chain in which each token is single-use.
//! [`refresh`] spends a token and stores its successor in one statement, so of two concurrent
//! refreshes exactly one wins. Presenting a token that was already spent means it was copied
//! (RFC 9700 §4.14.2): the whole session is revoked and the answer is `REFRESH_TOKEN_REUSED`
//! (a client that races itself with the same token is treated the same way).
//!
//! Every revocation commits together with its NOTIFY (see `revocations`), which is what makes
//! logout instant in every service.

use chrono::{DateTime, Utc};
use diesel_async::AsyncConnection;
use operant_platform::error::{ApiError, ErrorCode};
use operant_platform::principal::ClientInfo;
use operant_platform::tokens::UserPrincipal;
use uuid::Uuid;

use crate::error::{AuthError, AuthResult};
use crate::repo::refresh_tokens;
use crate::repo::sessions::{self as sessions_repo, NewSession, RevokeReason, SessionRow};
use crate::secrets;
use crate::state::AuthState;

/// What login and refresh return.
#[derive(Debug)]
pub struct TokenPair {
    pub access_token: String,
    pub refresh_token: String,
    pub expires_in: i64,
    pub refresh_expires_in: i64,
}

fn refresh_expiry(state: &AuthState) -> (DateTime<Utc>, i64) {
    let ttl = state.settings.tokens.refresh_ttl;
    let secs = i64::try_from(ttl.as_secs()).unwrap_or(604_800);
    (Utc::now() + chrono::Duration::seconds(secs), secs)
}

fn truncate(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// Opens a session for a user who just proved their identity, with its first token pair.
pub async fn open_session(state: &AuthState, user_id: Uuid, client: &ClientInfo) -> AuthResult<TokenPair> {
    let session_id = Uuid::now_v7();
    let refresh_token = secrets::new_refresh_token();
    let hash = secrets::hash_token(&refresh_token);
    let (expires_at, refresh_expires_in) = refresh_expiry(state);
    let ip = client.ip.map(|ip| ip.to_string()).unwrap_or_default();
    let user_agent = truncate(&client.user_agent, 512);
    let session =
        NewSession { id: session_id, user_id, expires_at, user_agent, ip_address: truncate(&ip, 64) };
    let mut conn = state.conn().await?;
    conn.transaction::<_, AuthError, _>(async |conn| {
        sessions_repo::insert(conn, &session).await?;
        refresh_tokens::insert(conn, &hash, session_id, expires_at).await?;
        Ok(())
    })
    .await?;
    drop(conn);
    let access = state.access_token(user_id, session_id).await?;
    Ok(TokenPair {
        access_token: access.token,
        refresh_token,
        expires_in: access.expires_in,
        refresh_expires_in,
    })
}

/// Consumes a refresh token and returns its successor pair.
pub async fn refresh(state: &AuthState, presented: &str) -> AuthResult<TokenPair> {
    let presented = presented.trim();
    if presented.is_empty() {
        return Err(AuthError::invalid("refresh_token", "is required"));
    }
    if !secrets::is_refresh_token_shaped(presented) {
        return Err(AuthError::InvalidRefreshToken);
    }
    let old_hash = secrets::hash_token(presented);
    let successor = secrets::new_refresh_token();
    let new_hash = secrets::hash_token(&successor);
    let (expires_at, refresh_expires_in) = refresh_expiry(state);
    let mut conn = state.conn().await?;
    if let Some(rotated) = refresh_tokens::rotate(&mut conn, &old_hash, &new_hash, expires_at).await? {
        drop(conn);
        let access = state.access_token(rotated.user_id, rotated.session_id).await?;
        return Ok(TokenPair {
            access_token: access.token,
            refresh_token: successor,
            expires_in: access.expires_in,
            refresh_expires_in,
        });
    }
    // Not rotated: find out why.
    let Some(token) = refresh_tokens::inspect(&mut conn, &old_hash).await? else {
        return Err(AuthError::InvalidRefreshToken);
    };
    if token.used {
        let revoked = conn
            .transaction::<_, AuthError, _>(async |conn| {
                Ok(sessions_repo::revoke(
                    conn,
                    None,
                    Some(token.session_id),
                    None,
                    RevokeReason::RefreshTokenReused,
                )
                .await?)
            })
            .await?;
        if !revoked.is_empty() {
            tracing::warn!(session_id = %token.session_id, used_at = ?token.used_at, "refresh token reuse: session revoked");
        }
        state.revoked_locally(&revoked);
        return Err(AuthError::RefreshTokenReused);
    }
    if token.session_revoked {
        return Err(AuthError::SessionRevoked);
    }
    if !token.user_active {
        return Err(AuthError::InactiveUser);
    }
    if token.expired || token.session_expired {
        return Err(AuthError::RefreshTokenExpired);
    }
    // Changed between the two statements (for example revoked concurrently).
    Err(AuthError::InvalidRefreshToken)
}

/// Ends a session: the one of `refresh_token` when given, otherwise the caller's. Idempotent:
/// an unknown or already revoked session is fine.
pub async fn logout(
    state: &AuthState,
    refresh_token: Option<&str>,
    caller: Option<&UserPrincipal>,
) -> AuthResult<()> {
    let mut conn = state.conn().await?;
    let session_id = match refresh_token.map(str::trim).filter(|t| !t.is_empty()) {
        // A token of the wrong shape is bad input (401 like at refresh), not "already ended".
        Some(token) if !secrets::is_refresh_token_shaped(token) => {
            return Err(AuthError::InvalidRefreshToken);
        }
        Some(token) => refresh_tokens::session_of(&mut conn, &secrets::hash_token(token)).await?,
        None => match caller {
            Some(principal) => Some(principal.session_id),
            None => {
                return Err(ApiError::new(
                    ErrorCode::TokenMissing,
                    "logout needs a refresh token or an access token",
                )
                .into());
            }
        },
    };
    let Some(session_id) = session_id else { return Ok(()) };
    let revoked = conn
        .transaction::<_, AuthError, _>(async |conn| {
            Ok(sessions_repo::revoke(conn, None, Some(session_id), None, RevokeReason::Logout).await?)
        })
        .await?;
    state.revoked_locally(&revoked);
    Ok(())
}

/// The caller's active sessions, newest first.
pub async fn list(state: &AuthState, user_id: Uuid) -> AuthResult<Vec<SessionRow>> {
    let mut conn = state.conn().await?;
    Ok(sessions_repo::list_active(&mut conn, user_id).await?)
}

/// Revokes one of the caller's sessions; another user's session is `SESSION_NOT_FOUND`.
pub async fn revoke(state: &AuthState, user_id: Uuid, session_id: Uuid) -> AuthResult<()> {
    let mut conn = state.conn().await?;
    if !sessions_repo::belongs_to(&mut conn, session_id, user_id).await? {
        return Err(AuthError::SessionNotFound);
    }
    let revoked = conn
        .transaction::<_, AuthError, _>(async |conn| {
            Ok(sessions_repo::revoke(conn, Some(user_id), Some(session_id), None, RevokeReason::Revoked)
                .await?)
        })
        .await?;
    state.revoked_locally(&revoked);
    Ok(())
}
