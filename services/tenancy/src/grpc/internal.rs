//! `TenancyInternalService` (service token only; enforced by the platform's access policy).

use operant_platform::apikeys::{KeyPrincipal, KeyRole};
use operant_platform::shutdown::Shutdown;
use operant_proto::tenancy::v1::tenancy_internal_service_server::TenancyInternalService;
use operant_proto::tenancy::v1::*;
use tokio::sync::{broadcast, mpsc};
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};
use uuid::Uuid;

use super::{convert, parse_id};
use crate::domain::api_keys::KeyRevocation;
use crate::domain::{Actor, Tenancy};
use crate::error::TenancyError;

/// The `TenancyInternalService` handlers.
pub struct InternalApi {
    pub domain: Tenancy,
    pub shutdown: Shutdown,
}

/// The caller `Authorize` is asked about: `user_id`, or `api_key_id` (one of the two).
fn authorize_actor(m: &AuthorizeRequest, organization_id: Uuid) -> Result<Actor, TenancyError> {
    match (m.user_id.trim().is_empty(), m.api_key_id.trim().is_empty()) {
        (false, true) => Ok(Actor::User(parse_id("user_id", &m.user_id)?)),
        // The key's role and state are read from its row by the domain; the principal only
        // names it (its role here is never consulted).
        (true, false) => Ok(Actor::ApiKey(KeyPrincipal {
            key_id: parse_id("api_key_id", &m.api_key_id)?,
            organization_id,
            role: KeyRole::Member,
            expires_at: None,
        })),
        _ => Err(TenancyError::invalid("user_id", "exactly one of user_id and api_key_id is required")),
    }
}

fn batch(ids: Vec<String>, snapshot: bool) -> WatchRevokedApiKeysResponse {
    WatchRevokedApiKeysResponse { api_key_ids: ids, snapshot }
}

/// Feeds one subscriber: each revocation as it comes, and a snapshot marker whenever some may
/// have been missed (listener reconnected, or this subscriber lagged). Ends on shutdown or
/// disconnect.
async fn pump(
    mut events: broadcast::Receiver<KeyRevocation>,
    tx: mpsc::Sender<Result<WatchRevokedApiKeysResponse, Status>>,
    shutdown: Shutdown,
) {
    loop {
        let event = tokio::select! {
            event = events.recv() => event,
            _ = tx.closed() => return,
            _ = shutdown.wait() => return,
        };
        let message = match event {
            Ok(KeyRevocation::Key(id)) => batch(vec![id.to_string()], false),
            Ok(KeyRevocation::Resync) | Err(broadcast::error::RecvError::Lagged(_)) => {
                batch(Vec::new(), true)
            }
            Err(broadcast::error::RecvError::Closed) => return,
        };
        if tx.send(Ok(message)).await.is_err() {
            return;
        }
    }
}

#[tonic::async_trait]
impl TenancyInternalService for InternalApi {
    async fn authorize(
        &self,
        request: Request<AuthorizeRequest>,
    ) -> Result<Response<AuthorizeResponse>, Status> {
        let m = request.get_ref();
        let organization_id = parse_id("organization_id", &m.organization_id)?;
        let actor = authorize_actor(m, organization_id)?;
        let standing = self.domain.authorize(organization_id, &actor).await?;
        Ok(Response::new(convert::authorization(standing)))
    }

    async fn check_membership(
        &self,
        request: Request<CheckMembershipRequest>,
    ) -> Result<Response<CheckMembershipResponse>, Status> {
        let m = request.get_ref();
        let user_id = parse_id("user_id", &m.user_id)?;
        let organization_id = parse_id("organization_id", &m.organization_id)?;
        let member = self.domain.check_membership(organization_id, user_id).await?;
        Ok(Response::new(CheckMembershipResponse { member }))
    }

    async fn resolve_api_key(
        &self,
        request: Request<ResolveApiKeyRequest>,
    ) -> Result<Response<ResolveApiKeyResponse>, Status> {
        let m = request.get_ref();
        if m.digest.len() != 32 {
            return Err(TenancyError::invalid("digest", "must be a SHA-256 digest (32 bytes)").into());
        }
        let client_ip = m.client_ip.trim().parse().ok();
        let key = self.domain.resolve_api_key(&m.digest, client_ip).await?;
        let role = match key.role {
            KeyRole::Admin => Role::Admin,
            KeyRole::Member => Role::Member,
        };
        Ok(Response::new(ResolveApiKeyResponse {
            api_key_id: key.key_id.to_string(),
            organization_id: key.organization_id.to_string(),
            role: role.into(),
            expires_at: key.expires_at.map(|seconds| prost_types::Timestamp { seconds, nanos: 0 }),
        }))
    }

    type WatchRevokedApiKeysStream = ReceiverStream<Result<WatchRevokedApiKeysResponse, Status>>;

    async fn watch_revoked_api_keys(
        &self,
        _request: Request<WatchRevokedApiKeysRequest>,
    ) -> Result<Response<Self::WatchRevokedApiKeysStream>, Status> {
        let events = self.domain.revocations().subscribe();
        let (tx, rx) = mpsc::channel(64);
        // The first message: whatever the subscriber cached before is forgotten.
        tx.send(Ok(batch(Vec::new(), true))).await.map_err(|_| Status::cancelled("subscriber went away"))?;
        tokio::spawn(pump(events, tx, self.shutdown.clone()));
        Ok(Response::new(ReceiverStream::new(rx)))
    }
}
