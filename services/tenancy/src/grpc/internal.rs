//! `TenancyInternalService` (service token only; enforced by the platform's access policy).

use futures::StreamExt;
use operant_platform::apikeys::{KeyPrincipal, KeyRole};
use operant_platform::shutdown::Shutdown;
use operant_proto::tenancy::v1::tenancy_internal_service_server::TenancyInternalService;
use operant_proto::tenancy::v1::*;
use std::collections::VecDeque;
use tokio::sync::{broadcast, mpsc};
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status, Streaming};
use uuid::Uuid;

use super::{convert, parse_id};
use crate::domain::api_keys::KeyRevocation;
use crate::domain::standings::{StandingEvent, StandingHub};
use crate::domain::{Actor, Tenancy};
use crate::error::TenancyError;

/// The `TenancyInternalService` handlers.
pub struct InternalApi {
    pub domain: Tenancy,
    /// This replica's standing changes and ticks, for `WatchStandingChanges`.
    pub standings: StandingHub,
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

/// Most pings of one watcher waiting for a tick (older ones are answered by a later pong anyway).
const MAX_PENDING_PINGS: usize = 64;

fn standing_message(
    organization_ids: Vec<String>,
    snapshot: bool,
    pong: u64,
) -> WatchStandingChangesResponse {
    WatchStandingChangesResponse { organization_ids, snapshot, pong }
}

/// Feeds one `WatchStandingChanges` subscriber: each change as it is heard, a snapshot marker
/// whenever some may have been missed, and for each ping a pong once a tick requested after
/// the ping arrived has been heard (so every change committed before the ping was sent ahead of
/// it). Ends on shutdown, on disconnect, or when the subscriber's pings fail.
async fn pump_standings(
    mut events: broadcast::Receiver<StandingEvent>,
    mut pings: Streaming<WatchStandingChangesRequest>,
    hub: StandingHub,
    tx: mpsc::Sender<Result<WatchStandingChangesResponse, Status>>,
    shutdown: Shutdown,
) {
    // (tick that answers it, ping), in the order of arrival (tick numbers never decrease).
    let mut pending: VecDeque<(u64, u64)> = VecDeque::new();
    let mut pings_open = true;
    loop {
        let message = tokio::select! {
            ping = pings.next(), if pings_open => {
                match ping {
                    Some(Ok(ping)) => {
                        pending.push_back((hub.request_tick(), ping.ping));
                        if pending.len() > MAX_PENDING_PINGS {
                            pending.pop_front();
                        }
                    }
                    // The subscriber stopped pinging but still listens: changes keep coming.
                    None => pings_open = false,
                    Some(Err(_)) => return,
                }
                continue;
            }
            event = events.recv() => match event {
                Ok(StandingEvent::Organization(id)) => standing_message(vec![id.to_string()], false, 0),
                Ok(StandingEvent::Tick(heard)) => {
                    let mut pong = 0;
                    while let Some(&(tick, ping)) = pending.front() && tick <= heard {
                        pong = pong.max(ping);
                        pending.pop_front();
                    }
                    if pong == 0 {
                        continue;
                    }
                    standing_message(Vec::new(), false, pong)
                }
                Ok(StandingEvent::Resync) | Err(broadcast::error::RecvError::Lagged(_)) => {
                    standing_message(Vec::new(), true, 0)
                }
                Err(broadcast::error::RecvError::Closed) => return,
            },
            _ = tx.closed() => return,
            _ = shutdown.wait() => return,
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

    type WatchStandingChangesStream = ReceiverStream<Result<WatchStandingChangesResponse, Status>>;

    async fn watch_standing_changes(
        &self,
        request: Request<Streaming<WatchStandingChangesRequest>>,
    ) -> Result<Response<Self::WatchStandingChangesStream>, Status> {
        let events = self.standings.subscribe();
        let (tx, rx) = mpsc::channel(64);
        // The first message: whatever the subscriber cached before is forgotten.
        tx.send(Ok(standing_message(Vec::new(), true, 0)))
            .await
            .map_err(|_| Status::cancelled("subscriber went away"))?;
        let pings = request.into_inner();
        tokio::spawn(pump_standings(events, pings, self.standings.clone(), tx, self.shutdown.clone()));
        Ok(Response::new(ReceiverStream::new(rx)))
    }
}
