//! Sessions and rotating refresh tokens.
//!
//! A session is one login; its refresh tokens form a chain in which each token is single-use.
//! [`refresh`] spends a token and stores its successor in one statement, so of two concurrent
//! refreshes exactly one rotates. Presenting a token that was already spent means it was copied
//! (RFC 9700 §4.14.2): the whole session is revoked and the answer is `REFRESH_TOKEN_REUSED`.
//!
//! Except for the refresh grace (`OPERANT_REFRESH_REUSE_GRACE_SECS`): a client whose answer was
//! lost retries with the token it still holds, and parallel refreshes of one token race. So the
//! rotation statement itself keeps, sealed with the master key on the spent token, the successor
//! refresh token and the id and issue time of the access token that goes with it ([`Kept`]);
//! presenting the just-rotated token again within the window (its successor not yet spent)
//! returns that same pair: the refresh token as kept, the access token signed again from the same
//! claims, which EdDSA makes the same bytes. After the window, or with an older token, it is
//! reuse as before.
//!
//! Every revocation commits together with its NOTIFY (see `revocations`), which is what makes
//! logout instant in every service.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use diesel_async::AsyncConnection;
use operant_platform::error::{ApiError, ErrorCode};
use operant_platform::principal::ClientInfo;
use operant_platform::shutdown::Shutdown;
use operant_platform::tokens::UserPrincipal;
use uuid::Uuid;

use crate::error::{AuthError, AuthResult};
use crate::repo::refresh_tokens;
use crate::repo::sessions::{self as sessions_repo, NewSession, RevokeReason, SessionRow};
use crate::reseal::REFRESH_SUCCESSORS;
use crate::secrets;
use crate::state::{AccessStamp, AuthState};

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

/// Consumes a refresh token and returns its successor pair (within the grace, the same pair
/// again: see the module docs).
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
    let grace = state.settings.tokens.refresh_reuse_grace;
    let stamp = AccessStamp::now();
    // Sealed before the rotation, which stores it: a retry can only come after the answer was
    // (or was not) received, and the answer comes after the commit.
    let kept = if grace.is_zero() {
        None
    } else {
        let kept = Kept {
            refresh_token: successor.clone(),
            access: stamp,
            refresh_expires_at: expires_at.timestamp(),
        };
        Some(kept.seal(state, &old_hash)?)
    };
    let mut conn = state.conn().await?;
    if let Some(rotated) =
        refresh_tokens::rotate(&mut conn, &old_hash, &new_hash, expires_at, kept.as_deref()).await?
    {
        drop(conn);
        let access = state.access_token_stamped(rotated.user_id, rotated.session_id, &stamp).await?;
        return Ok(TokenPair {
            access_token: access.token,
            refresh_token: successor,
            expires_in: access.expires_in,
            refresh_expires_in,
        });
    }
    // Not rotated: find out why.
    let Some(token) = refresh_tokens::inspect(&mut conn, &old_hash, grace.as_secs_f64()).await? else {
        return Err(AuthError::InvalidRefreshToken);
    };
    drop(conn);
    let retry =
        token.used && token.in_grace && !token.session_revoked && !token.session_expired && token.user_active;
    // A token spent while the grace was off keeps nothing: its retry is reuse.
    if let (true, Some(sealed)) = (retry, &token.successor_sealed) {
        tracing::info!(session_id = %token.session_id, "refresh retried within the grace: same successor returned");
        let now = Utc::now().timestamp();
        return Ok(match Kept::open(state, &old_hash, sealed)? {
            AnyKept::Stamped(kept) => {
                let access =
                    state.access_token_stamped(token.user_id, token.session_id, &kept.access).await?;
                TokenPair {
                    access_token: access.token,
                    refresh_token: kept.refresh_token,
                    expires_in: (kept.access.iat + access.expires_in - now).clamp(0, access.expires_in),
                    refresh_expires_in: (kept.refresh_expires_at - now).max(0),
                }
            }
            AnyKept::Signed(kept) => TokenPair {
                access_token: kept.access_token,
                refresh_token: kept.refresh_token,
                expires_in: (kept.access_expires_at - now).max(0),
                refresh_expires_in: (kept.refresh_expires_at - now).max(0),
            },
        });
    }
    let mut conn = state.conn().await?;
    if token.used {
        let revoked = conn
            .transaction::<_, AuthError, _>(async |conn| {
                let revoked = sessions_repo::revoke(
                    conn,
                    None,
                    Some(token.session_id),
                    None,
                    RevokeReason::RefreshTokenReused,
                )
                .await?;
                refresh_tokens::forget_successors(conn, token.session_id).await?;
                Ok(revoked)
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

/// What a spent token keeps for the grace window, sealed: the successor refresh token and the
/// stamp of the access token answered with it. No `Debug`: it holds a live token.
#[derive(serde::Serialize, serde::Deserialize)]
struct Kept {
    refresh_token: String,
    access: AccessStamp,
    /// Unix seconds, so that a retry reports the time left.
    refresh_expires_at: i64,
}

impl Kept {
    /// The row id of the spent token, as the re-seal names it (PostgreSQL's text of a bytea).
    fn row_id(old_hash: &[u8]) -> String {
        let mut id = String::from("\\x");
        for b in old_hash {
            id.push_str(&format!("{b:02x}"));
        }
        id
    }

    fn seal(&self, state: &AuthState, old_hash: &[u8]) -> AuthResult<Vec<u8>> {
        let plain = zeroize::Zeroizing::new(serde_json::to_vec(self).map_err(AuthError::internal)?);
        let row = Self::row_id(old_hash);
        state.keyring.seal(&REFRESH_SUCCESSORS.aad(&row), &plain).map_err(AuthError::internal)
    }

    fn open(state: &AuthState, old_hash: &[u8], sealed: &[u8]) -> AuthResult<AnyKept> {
        let row = Self::row_id(old_hash);
        let plain = state.keyring.open(&REFRESH_SUCCESSORS.aad(&row), sealed).map_err(AuthError::internal)?;
        serde_json::from_slice(&plain).map_err(AuthError::internal)
    }
}

/// What versions before the one-statement rotation kept (the signed pair itself, written by a
/// second statement): still answered, for the grace window that spans an upgrade.
#[derive(serde::Deserialize)]
struct KeptSigned {
    refresh_token: String,
    access_token: String,
    access_expires_at: i64,
    refresh_expires_at: i64,
}

#[derive(serde::Deserialize)]
#[serde(untagged)]
enum AnyKept {
    Stamped(Kept),
    Signed(KeptSigned),
}

async fn forget_expired(state: &AuthState, grace: f64) -> AuthResult<usize> {
    let mut conn = state.conn().await?;
    Ok(refresh_tokens::forget_expired_successors(&mut conn, grace).await?)
}

/// Drops, every grace window (at least every second, at most every minute), the kept successor
/// pairs whose window has ended (those of successors rotated or sessions revoked since are
/// dropped at once). Nothing to do without a grace.
pub fn spawn_successor_sweep(state: Arc<AuthState>, shutdown: Shutdown) {
    let window = state.settings.tokens.refresh_reuse_grace;
    if window.is_zero() {
        return;
    }
    let every = window.clamp(Duration::from_secs(1), Duration::from_secs(60));
    let grace = window.as_secs_f64();
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                _ = shutdown.wait() => return,
            }
            match forget_expired(&state, grace).await {
                Ok(0) => {}
                Ok(n) => tracing::debug!(rows = n, "dropped kept refresh successors past the grace"),
                Err(e) => tracing::warn!(error = ?e, "could not drop kept refresh successors"),
            }
        }
    });
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
