//! Keeping a [`TokenVerifier`] in step with the auth service over gRPC (every service but auth):
//! signing keys are re-read every 60 s and whenever a token names an unknown `kid`, and
//! revocations arrive as a stream, so a logout is seen everywhere within milliseconds without a
//! call to auth per request. API keys are resolved through tenancy ([`RemoteKeyResolver`]) and
//! their revocations arrive the same way, over tenancy's stream ([`spawn_key_sync`]).

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use operant_proto::auth::v1::auth_internal_service_client::AuthInternalServiceClient;
use operant_proto::auth::v1::{ListSigningKeysRequest, WatchRevokedSessionsRequest};
use operant_proto::tenancy::v1::tenancy_internal_service_client::TenancyInternalServiceClient;
use operant_proto::tenancy::v1::{ResolveApiKeyRequest, Role, WatchRevokedApiKeysRequest};
use uuid::Uuid;

use crate::apikeys::{ApiKeyVerifier, KeyDigest, KeyPrincipal, KeyResolver, KeyRole};
use crate::clients::ServiceChannel;
use crate::error::{ApiError, ErrorCode, error_code_of};
use crate::shutdown::Shutdown;
use crate::tokens::TokenVerifier;

/// Fetches the keys once; used at start so the first requests already verify.
pub async fn load_keys(
    verifier: &TokenVerifier,
    client: &mut AuthInternalServiceClient<ServiceChannel>,
) -> Result<(), tonic::Status> {
    let keys = client.list_signing_keys(ListSigningKeysRequest {}).await?.into_inner();
    verifier
        .set_keys(keys.keys.into_iter().map(|k| (k.kid, k.public_key, k.verify_until.map(|t| t.seconds))));
    Ok(())
}

/// Spawns the key refresher (every 60 s and on demand) and the revocation watcher (a stream
/// that reconnects with backoff and starts each connection with a full snapshot).
pub fn spawn_sync(
    verifier: Arc<TokenVerifier>,
    client: AuthInternalServiceClient<ServiceChannel>,
    shutdown: Shutdown,
) {
    {
        let verifier = verifier.clone();
        let mut client = client.clone();
        let shutdown = shutdown.clone();
        tokio::spawn(async move {
            loop {
                if let Err(status) = load_keys(&verifier, &mut client).await {
                    tracing::warn!(%status, "could not refresh signing keys");
                }
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(60)) => {}
                    _ = verifier.refresh_requested() => {}
                    _ = shutdown.wait() => return,
                }
            }
        });
    }
    tokio::spawn(async move {
        let mut backoff = Duration::from_millis(100);
        loop {
            let result = watch_once(&verifier, &mut client.clone(), &mut backoff).await;
            if let Err(status) = result {
                tracing::warn!(%status, "revocation stream interrupted; reconnecting");
            }
            tokio::select! {
                _ = tokio::time::sleep(backoff) => {}
                _ = shutdown.wait() => return,
            }
            backoff = (backoff * 2).min(Duration::from_secs(2));
        }
    });
}

async fn watch_once(
    verifier: &TokenVerifier,
    client: &mut AuthInternalServiceClient<ServiceChannel>,
    backoff: &mut Duration,
) -> Result<(), tonic::Status> {
    let mut stream = client.watch_revoked_sessions(WatchRevokedSessionsRequest {}).await?.into_inner();
    let mut purge = tokio::time::interval(Duration::from_secs(30));
    loop {
        tokio::select! {
            message = stream.next() => {
                let Some(message) = message else { return Ok(()) };
                let message = message?;
                *backoff = Duration::from_millis(100);
                let entries = message.sessions.into_iter().filter_map(|s| {
                    Some((s.session_id.parse::<Uuid>().ok()?, s.forget_after.map(|t| t.seconds).unwrap_or(i64::MAX)))
                });
                if message.snapshot {
                    verifier.revocations().replace(entries);
                } else {
                    for (sid, until) in entries {
                        verifier.revocations().insert(sid, until);
                    }
                }
            }
            _ = purge.tick() => verifier.revocations().purge(chrono::Utc::now().timestamp()),
        }
    }
}

/// Deadline of one `ResolveApiKey` call.
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(5);

/// Resolves API keys with tenancy's `ResolveApiKey` (every service but tenancy).
pub struct RemoteKeyResolver {
    client: TenancyInternalServiceClient<ServiceChannel>,
}

impl RemoteKeyResolver {
    pub fn new(client: TenancyInternalServiceClient<ServiceChannel>) -> Self {
        Self { client }
    }
}

/// tenancy's answer (its `ErrorInfo` code is relayed as it is); no answer at all is 503.
fn resolve_failed(status: tonic::Status) -> ApiError {
    match error_code_of(&status) {
        Some(_) => ApiError::relayed(status),
        None => {
            tracing::warn!(code = ?status.code(), message = status.message(), "ResolveApiKey failed");
            ApiError::new(ErrorCode::ServiceUnavailable, "the tenancy service is unavailable; retry later")
                .with_retry_after(Duration::from_secs(1))
        }
    }
}

#[tonic::async_trait]
impl KeyResolver for RemoteKeyResolver {
    async fn resolve(&self, digest: KeyDigest, client_ip: Option<IpAddr>) -> Result<KeyPrincipal, ApiError> {
        let message = ResolveApiKeyRequest {
            digest: digest.to_vec(),
            client_ip: client_ip.map(|ip| ip.to_string()).unwrap_or_default(),
        };
        let mut request = tonic::Request::new(message);
        request.set_timeout(RESOLVE_TIMEOUT);
        let answer = self.client.clone().resolve_api_key(request).await.map_err(resolve_failed)?.into_inner();
        let unusable = || ApiError::internal("ResolveApiKey answered an unusable key");
        let role = match Role::try_from(answer.role) {
            Ok(Role::Admin) => KeyRole::Admin,
            Ok(Role::Member) => KeyRole::Member,
            _ => return Err(unusable()),
        };
        Ok(KeyPrincipal {
            key_id: answer.api_key_id.parse().map_err(|_| unusable())?,
            organization_id: answer.organization_id.parse().map_err(|_| unusable())?,
            role,
            expires_at: answer.expires_at.map(|t| t.seconds),
        })
    }
}

/// An API-key verifier resolving through tenancy at `channel`, kept in step with tenancy's
/// revocation stream until `shutdown` (what every service but tenancy runs).
pub fn api_key_verifier(channel: ServiceChannel, shutdown: Shutdown) -> Arc<ApiKeyVerifier> {
    let client = TenancyInternalServiceClient::new(channel);
    let keys = Arc::new(ApiKeyVerifier::new(Arc::new(RemoteKeyResolver::new(client.clone()))));
    spawn_key_sync(keys.clone(), client, shutdown);
    keys
}

/// Spawns the API-key revocation watcher: tenancy's `WatchRevokedApiKeys` stream, reconnected
/// with backoff; each (re)connection starts with a snapshot marker that empties the cache.
pub fn spawn_key_sync(
    keys: Arc<ApiKeyVerifier>,
    client: TenancyInternalServiceClient<ServiceChannel>,
    shutdown: Shutdown,
) {
    tokio::spawn(async move {
        let mut backoff = Duration::from_millis(100);
        loop {
            if let Err(status) = watch_keys_once(&keys, &mut client.clone(), &mut backoff).await {
                tracing::warn!(%status, "API key revocation stream interrupted; reconnecting");
            }
            // Whatever was missed while disconnected: resolve every key again.
            keys.forget_all();
            tokio::select! {
                _ = tokio::time::sleep(backoff) => {}
                _ = shutdown.wait() => return,
            }
            backoff = (backoff * 2).min(Duration::from_secs(2));
        }
    });
}

async fn watch_keys_once(
    keys: &ApiKeyVerifier,
    client: &mut TenancyInternalServiceClient<ServiceChannel>,
    backoff: &mut Duration,
) -> Result<(), tonic::Status> {
    let mut stream = client.watch_revoked_api_keys(WatchRevokedApiKeysRequest {}).await?.into_inner();
    while let Some(message) = stream.next().await {
        let message = message?;
        *backoff = Duration::from_millis(100);
        if message.snapshot {
            keys.forget_all();
        }
        keys.revoke(message.api_key_ids.iter().filter_map(|id| id.parse::<Uuid>().ok()));
    }
    Ok(())
}
