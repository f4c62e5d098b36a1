//! Organization API keys: creation within the plan's `max_api_keys` (ADMIN+, role ADMIN or
//! MEMBER and never above the creator's), listing without secrets, revocation, and resolution of
//! a presented key for the verifiers of every service.
//!
//! The secret is `opk_` + 256 random bits in base64url, returned once and stored only as its
//! SHA-256 digest ([`operant_platform::apikeys`]). The limit is race-safe like the member
//! limit: creation takes the organization's `api_keys` quota lock, counts the active keys and
//! inserts in one transaction.
//!
//! Revocation (and the deletion of an organization, which takes its keys along) is committed
//! together with `NOTIFY operant_api_key_revoked, '<key id>'`. Each tenancy process LISTENs
//! ([`spawn_listener`]), drops the key from its own verifier and forwards it to the
//! `WatchRevokedApiKeys` streams of the other services ([`RevocationHub`]), which drop it from
//! theirs: the same path as auth's session revocations, in milliseconds.
//!
//! Creation and revocation record `api_key.created` / `api_key.revoked` (the key, never its
//! secret or digest); using a key (`last_used_at`) is not a change and records nothing.
//!
//! Resolution throttles invalid keys per client address like failed logins: one attempt is
//! reserved on `ip:<address>` (20 per 15 minutes) before the lookup and given back when the
//! key is valid, so only invalid keys accumulate; over the limit the answer is 429
//! `TOO_MANY_ATTEMPTS` with the time until the window ends.

use operant_platform::idempotency::{Answer, Key};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use futures::StreamExt;
use operant_platform::apikeys::{
    self, API_KEY_DISPLAY_CHARS, ApiKeyVerifier, KeyDigest, KeyPrincipal, KeyRole,
};
use operant_platform::db::lock_quota;
use operant_platform::error::{ApiError, ErrorCode, FieldViolation};
use operant_platform::paging::{Cursor, KeyKind, Page, Paged, Sort, SortField};
use operant_platform::shutdown::Shutdown;
use serde_json::json;
use tokio::sync::broadcast;
use uuid::Uuid;

use super::standings::{STANDING_CHANNEL, StandingHub};
use super::{Actor, Tenancy, actor_ref, audit, standing};
use crate::error::TenancyError;
use crate::events;
use crate::plans::Role;
use crate::repo::api_key_attempts;
use crate::repo::api_keys::{self as repo, ApiKeyRow, NewApiKey, REVOKED_CHANNEL};

/// The quota name of API keys for [`lock_quota`].
pub const QUOTA: &str = "api_keys";
/// Longest key name (characters).
const MAX_NAME_CHARS: usize = 200;
/// The throttle window of invalid keys per client address.
pub const THROTTLE_WINDOW: Duration = Duration::from_secs(15 * 60);
/// Invalid keys allowed per client address and window.
pub const THROTTLE_LIMIT: i32 = 20;

/// The one order of key lists: newest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiKeySort {
    CreatedAt,
}

impl SortField for ApiKeySort {
    const FIELDS: &'static [(&'static str, Self)] = &[("created_at", ApiKeySort::CreatedAt)];
    const DEFAULT: Sort<Self> = Sort { field: ApiKeySort::CreatedAt, descending: true };
    fn kind(self) -> KeyKind {
        KeyKind::Time
    }
}

/// What a caller asks for in `CreateApiKey`.
#[derive(Debug, Clone)]
pub struct NewKey {
    pub name: String,
    pub role: Role,
    pub expires_at: Option<DateTime<Utc>>,
}

/// A created key with its secret, which is never available again.
pub struct CreatedApiKey {
    pub row: ApiKeyRow,
    pub secret: String,
}

impl std::fmt::Debug for CreatedApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreatedApiKey").field("row", &self.row).field("secret", &"<hidden>").finish()
    }
}

/// The checked name, role and expiry, or every violation among them.
fn validate(new: &NewKey, now: DateTime<Utc>) -> Result<(), TenancyError> {
    let mut violations = Vec::new();
    let name = new.name.trim();
    if name.is_empty() {
        violations.push(FieldViolation::new("name", "must not be empty"));
    } else if name.chars().count() > MAX_NAME_CHARS {
        violations.push(FieldViolation::new("name", format!("must be at most {MAX_NAME_CHARS} characters")));
    } else if name.chars().any(char::is_control) {
        violations.push(FieldViolation::new("name", "must not contain control characters"));
    }
    if new.role == Role::Owner {
        violations.push(FieldViolation::new("role", "must be ADMIN or MEMBER (a key is never OWNER)"));
    }
    if new.expires_at.is_some_and(|at| at <= now) {
        violations.push(FieldViolation::new("expires_at", "must be in the future"));
    }
    if violations.is_empty() { Ok(()) } else { Err(TenancyError::Validation(violations)) }
}

impl Tenancy {
    /// Creates a key (ADMIN+; not above the creator's role) within the plan's limit.
    pub async fn create_api_key<M: prost::Message + Default + Send>(
        &self,
        organization_id: Uuid,
        actor: &Actor,
        new: NewKey,
        key: Option<&Key>,
        respond: impl FnOnce(CreatedApiKey) -> M + Send,
    ) -> Result<Answer<M>, TenancyError> {
        let mut conn = self.conn().await?;
        standing(&mut conn, organization_id, actor).await?.require(Role::Admin, "manage API keys")?;
        validate(&new, Utc::now())?;
        let (secret, digest) = apikeys::generate();
        let (created_by, created_by_type) = actor_ref(actor);
        let store = &self.idempotency;
        let secret = &secret;
        let answer = conn
            .transaction(async |conn| {
                if let Some(stored) = store.begin(conn, key).await? {
                    return Ok(stored.replay());
                }
                let result = conn
                    .transaction(async |conn| {
                        lock_quota(conn, organization_id, QUOTA).await?;
                        let standing = standing(conn, organization_id, actor).await?;
                        standing.require(Role::Admin, "manage API keys")?;
                        standing.require(new.role, "create a key with a role above your own")?;
                        let limit = standing.plan.spec().max_api_keys;
                        if repo::count_active(conn, organization_id).await? >= limit {
                            return Err(TenancyError::PlanLimitReached { resource: "API keys", limit });
                        }
                        let key = NewApiKey {
                            id: Uuid::now_v7(),
                            organization_id,
                            name: new.name.trim(),
                            role: new.role,
                            prefix: &secret[..API_KEY_DISPLAY_CHARS],
                            digest: &digest,
                            created_by,
                            created_by_type,
                            expires_at: new.expires_at,
                        };
                        let row = repo::insert(conn, &key).await?;
                        let details =
                            json!({ "name": row.name, "role": row.role.as_str(), "prefix": row.prefix });
                        audit(
                            conn,
                            organization_id,
                            actor,
                            "api_key.created",
                            ("api_key", row.id.to_string()),
                            details,
                        )
                        .await?;
                        let data = events::api_key(&row);
                        self.event(conn, organization_id, actor, "api_key.created", data, &[]).await?;
                        Ok(row)
                    })
                    .await;
                let respond = |row| respond(CreatedApiKey { row, secret: secret.clone() });
                store.finish(conn, key, result, respond).await
            })
            .await?;
        self.hint_events();
        answer
    }

    /// One page of the keys that are not revoked, newest first (ADMIN+).
    pub async fn list_api_keys(
        &self,
        organization_id: Uuid,
        actor: &Actor,
        page: &Page<ApiKeySort>,
    ) -> Result<Paged<ApiKeyRow>, TenancyError> {
        let mut conn = self.conn().await?;
        standing(&mut conn, organization_id, actor).await?.require(Role::Admin, "manage API keys")?;
        let (rows, total) =
            repo::page(&mut conn, organization_id, page.after.as_ref(), page.skip, page.fetch()).await?;
        Ok(page.paged(rows, total, |row, _| Cursor::time(row.created_at, row.id)))
    }

    /// Revokes a key (ADMIN+); every service refuses it once the revocation is announced.
    pub async fn revoke_api_key(
        &self,
        organization_id: Uuid,
        actor: &Actor,
        key_id: Uuid,
    ) -> Result<(), TenancyError> {
        let mut conn = self.conn().await?;
        conn.transaction(async |conn| {
            standing(conn, organization_id, actor).await?.require(Role::Admin, "manage API keys")?;
            let row =
                repo::revoke(conn, organization_id, key_id).await?.ok_or(TenancyError::ApiKeyNotFound)?;
            repo::notify_revoked(conn, key_id).await?;
            let details = json!({ "name": row.name, "prefix": row.prefix });
            audit(conn, organization_id, actor, "api_key.revoked", ("api_key", key_id.to_string()), details)
                .await?;
            let data = events::api_key(&row);
            self.event(conn, organization_id, actor, "api_key.revoked", data, &["revoked_at"]).await
        })
        .await?;
        self.hint_events();
        Ok(())
    }

    /// The key whose secret has `digest`, for a verifier (throttled per client address).
    pub async fn resolve_api_key(
        &self,
        digest: &[u8],
        client_ip: Option<IpAddr>,
    ) -> Result<KeyPrincipal, TenancyError> {
        let mut conn = self.conn().await?;
        let throttle_key = client_ip.map(|ip| format!("ip:{ip}"));
        if let Some(key) = &throttle_key {
            reserve(&mut conn, key).await?;
        }
        let found = repo::find_by_digest(&mut conn, digest).await?;
        let principal = usable(found, Utc::now())?;
        if let Some(key) = &throttle_key {
            api_key_attempts::release(&mut conn, key).await?;
        }
        repo::touch(&mut conn, principal.key_id).await?;
        Ok(principal)
    }

    /// The revocation fan-out, for `WatchRevokedApiKeys`.
    pub fn revocations(&self) -> &RevocationHub {
        &self.hub
    }
}

/// Reserves one attempt of the address; over the limit, 429 until the window ends.
async fn reserve(conn: &mut AsyncPgConnection, key: &str) -> Result<(), TenancyError> {
    let counter = api_key_attempts::reserve(conn, key, THROTTLE_WINDOW.as_secs_f64()).await?;
    if counter.failures > THROTTLE_LIMIT {
        let window_end =
            counter.window_start + chrono::Duration::from_std(THROTTLE_WINDOW).unwrap_or_default();
        let left = (window_end - Utc::now()).num_seconds().max(1);
        return Err(TenancyError::TooManyAttempts { retry_after: Duration::from_secs(left.unsigned_abs()) });
    }
    Ok(())
}

/// The principal of a found key, or why it cannot be used.
fn usable(found: Option<ApiKeyRow>, now: DateTime<Utc>) -> Result<KeyPrincipal, TenancyError> {
    let row = found.ok_or(TenancyError::Api(ApiError::new(ErrorCode::ApiKeyUnknown, "no such API key")))?;
    if row.revoked_at.is_some() {
        return Err(ApiError::new(ErrorCode::ApiKeyRevoked, "the API key has been revoked").into());
    }
    if row.expires_at.is_some_and(|at| at <= now) {
        return Err(ApiError::new(ErrorCode::ApiKeyExpired, "the API key has expired").into());
    }
    let role = match row.role {
        Role::Admin => KeyRole::Admin,
        Role::Member => KeyRole::Member,
        // The schema allows no OWNER key; one would be a bug, never a credential.
        Role::Owner => return Err(ApiError::internal("an API key with the OWNER role").into()),
    };
    Ok(KeyPrincipal {
        key_id: row.id,
        organization_id: row.organization_id,
        role,
        expires_at: row.expires_at.map(|at| at.timestamp()),
    })
}

/// Resolves keys inside the tenancy process, straight from its domain (no hop to itself).
pub struct LocalResolver(pub Tenancy);

#[tonic::async_trait]
impl apikeys::KeyResolver for LocalResolver {
    async fn resolve(&self, digest: KeyDigest, client_ip: Option<IpAddr>) -> Result<KeyPrincipal, ApiError> {
        Ok(self.0.resolve_api_key(&digest, client_ip).await?)
    }
}

/// An event for `WatchRevokedApiKeys` subscribers.
#[derive(Debug, Clone)]
pub enum KeyRevocation {
    /// One key revoked.
    Key(Uuid),
    /// Revocations may have been missed (the listener reconnected): forget every cached key.
    Resync,
}

/// Fan-out of key revocations to stream subscribers.
#[derive(Clone)]
pub struct RevocationHub {
    tx: broadcast::Sender<KeyRevocation>,
}

impl Default for RevocationHub {
    fn default() -> Self {
        Self { tx: broadcast::channel(4096).0 }
    }
}

impl RevocationHub {
    pub fn subscribe(&self) -> broadcast::Receiver<KeyRevocation> {
        self.tx.subscribe()
    }

    fn publish(&self, event: KeyRevocation) {
        // No subscribers is fine.
        let _ = self.tx.send(event);
    }
}

/// Runs the LISTEN connection until `shutdown`, reconnecting with backoff; `ready` is notified
/// once it listens. Each revocation reaches this process's `keys` and the hub's subscribers;
/// each standing change (and tick) heard on [`STANDING_CHANNEL`], the `standings` hub.
pub fn spawn_listener(
    database_url: String,
    keys: Arc<ApiKeyVerifier>,
    hub: RevocationHub,
    standings: StandingHub,
    ready: Arc<tokio::sync::Notify>,
    shutdown: Shutdown,
) {
    tokio::spawn(async move {
        let mut backoff = Duration::from_millis(100);
        loop {
            tokio::select! {
                result = listen_once(&database_url, &keys, &hub, &standings, &ready, &mut backoff) => {
                    if let Err(e) = result {
                        tracing::warn!(error = %e, "API key revocation listener interrupted; reconnecting");
                    }
                }
                _ = shutdown.wait() => return,
            }
            tokio::select! {
                _ = tokio::time::sleep(backoff) => {}
                _ = shutdown.wait() => return,
            }
            backoff = (backoff * 2).min(Duration::from_secs(5));
        }
    });
}

async fn listen_once(
    database_url: &str,
    keys: &ApiKeyVerifier,
    hub: &RevocationHub,
    standings: &StandingHub,
    ready: &tokio::sync::Notify,
    backoff: &mut Duration,
) -> anyhow::Result<()> {
    let mut conn = tokio::time::timeout(Duration::from_secs(5), AsyncPgConnection::establish(database_url))
        .await
        .map_err(|_| anyhow::anyhow!("connect timed out"))??;
    diesel::sql_query(format!("LISTEN {REVOKED_CHANNEL}")).execute(&mut conn).await?;
    diesel::sql_query(format!("LISTEN {STANDING_CHANNEL}")).execute(&mut conn).await?;
    // LISTEN is active from here on; what was missed before is forgotten everywhere.
    keys.forget_all();
    hub.publish(KeyRevocation::Resync);
    standings.resync();
    ready.notify_one();
    *backoff = Duration::from_millis(100);
    loop {
        let next = {
            let mut stream = std::pin::pin!(conn.notifications_stream());
            tokio::time::timeout(Duration::from_secs(20), stream.next()).await
        };
        match next {
            Ok(Some(Ok(notification))) if notification.channel == STANDING_CHANNEL => {
                standings.heard(&notification.payload);
            }
            Ok(Some(Ok(notification))) => match notification.payload.parse::<Uuid>() {
                Ok(key_id) => {
                    keys.revoke([key_id]);
                    hub.publish(KeyRevocation::Key(key_id));
                }
                Err(_) => tracing::warn!(payload = %notification.payload, "bad API key revocation payload"),
            },
            Ok(Some(Err(e))) => return Err(e.into()),
            Ok(None) => anyhow::bail!("notification stream ended"),
            // Quiet for a while: make sure the connection is still alive.
            Err(_) => {
                tokio::time::timeout(
                    Duration::from_secs(5),
                    diesel::sql_query("SELECT 1").execute(&mut conn),
                )
                .await
                .map_err(|_| anyhow::anyhow!("listener ping timed out"))??;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new(name: &str, role: Role, expires_in: Option<i64>) -> NewKey {
        NewKey {
            name: name.into(),
            role,
            expires_at: expires_in.map(|s| Utc::now() + chrono::Duration::seconds(s)),
        }
    }

    fn fields(result: Result<(), TenancyError>) -> Vec<String> {
        match result {
            Err(TenancyError::Validation(v)) => v.into_iter().map(|v| v.field).collect(),
            _ => Vec::new(),
        }
    }

    #[test]
    fn names_roles_and_expiry_are_checked() {
        assert!(validate(&new("ci", Role::Member, Some(60)), Utc::now()).is_ok());
        assert_eq!(
            fields(validate(&new("  ", Role::Owner, Some(-1)), Utc::now())),
            ["name", "role", "expires_at"]
        );
        assert_eq!(fields(validate(&new(&"x".repeat(201), Role::Admin, None), Utc::now())), ["name"]);
    }
}
