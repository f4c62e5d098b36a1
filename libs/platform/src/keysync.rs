//! Keeping a [`TokenVerifier`] in step with the auth service over gRPC (every service but auth):
//! signing keys are re-read every 60 s and whenever a token names an unknown `kid`, and
//! revocations arrive as a stream, so a logout is seen everywhere within milliseconds without a
//! call to auth per request.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use operant_proto::auth::v1::auth_internal_service_client::AuthInternalServiceClient;
use operant_proto::auth::v1::{ListSigningKeysRequest, WatchRevokedSessionsRequest};
use uuid::Uuid;

use crate::clients::ServiceChannel;
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
