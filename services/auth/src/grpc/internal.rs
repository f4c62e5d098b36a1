//! `operant.auth.v1.AuthInternalService`: user look-ups, marking an email verified (an accepted
//! invitation proved the mailbox), verification keys and the revocation stream, for other
//! services only (the platform refuses callers without the service token).

use std::sync::Arc;

use operant_platform::shutdown::Shutdown;
use operant_proto::auth::v1 as pb;
use operant_proto::auth::v1::auth_internal_service_server::AuthInternalService;
use tokio::sync::{broadcast, mpsc};
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};
use uuid::Uuid;

use super::convert;
use crate::domain::accounts;
use crate::error::{AuthError, AuthResult};
use crate::repo::signing_keys;
use crate::revocations::Revocation;
use crate::state::AuthState;

pub struct InternalApi {
    pub state: Arc<AuthState>,
    pub shutdown: Shutdown,
}

type Reply<T> = Result<Response<T>, Status>;

fn revoked(entries: impl IntoIterator<Item = (Uuid, i64)>) -> Vec<pb::RevokedSession> {
    entries
        .into_iter()
        .map(|(id, forget_after)| pb::RevokedSession {
            session_id: id.to_string(),
            forget_after: Some(prost_types::Timestamp { seconds: forget_after, nanos: 0 }),
        })
        .collect()
}

async fn snapshot(state: &AuthState) -> AuthResult<pb::WatchRevokedSessionsResponse> {
    let mut conn = state.conn().await?;
    let entries = state.hub.snapshot(&mut conn).await?;
    Ok(pb::WatchRevokedSessionsResponse { sessions: revoked(entries), snapshot: true })
}

/// Feeds one subscriber: live events, and a fresh snapshot whenever events may have been missed
/// (listener reconnected, or this subscriber lagged). Ends on shutdown or disconnect.
async fn pump(
    state: Arc<AuthState>,
    mut events: broadcast::Receiver<Revocation>,
    tx: mpsc::Sender<Result<pb::WatchRevokedSessionsResponse, Status>>,
    shutdown: Shutdown,
) {
    loop {
        let event = tokio::select! {
            event = events.recv() => event,
            _ = tx.closed() => return,
            _ = shutdown.wait() => return,
        };
        let message = match event {
            Ok(Revocation::Session(id, forget_after)) => Ok(pb::WatchRevokedSessionsResponse {
                sessions: revoked([(id, forget_after)]),
                snapshot: false,
            }),
            Ok(Revocation::Resync) | Err(broadcast::error::RecvError::Lagged(_)) => {
                snapshot(&state).await.map_err(Status::from)
            }
            Err(broadcast::error::RecvError::Closed) => return,
        };
        let failed = message.is_err();
        if tx.send(message).await.is_err() || failed {
            return;
        }
    }
}

#[tonic::async_trait]
impl AuthInternalService for InternalApi {
    async fn get_users(&self, request: Request<pb::GetUsersRequest>) -> Reply<pb::GetUsersResponse> {
        let ids = request
            .get_ref()
            .user_ids
            .iter()
            .enumerate()
            .map(|(i, id)| convert::uuid(&format!("user_ids[{i}]"), id))
            .collect::<Result<Vec<_>, AuthError>>()?;
        let users = accounts::users_by_id(&self.state, &ids).await?;
        Ok(Response::new(pb::GetUsersResponse { users: users.into_iter().map(convert::user).collect() }))
    }

    async fn get_user_by_email(
        &self,
        request: Request<pb::GetUserByEmailRequest>,
    ) -> Reply<pb::GetUserByEmailResponse> {
        let user = accounts::user_by_email(&self.state, &request.get_ref().email).await?;
        Ok(Response::new(pb::GetUserByEmailResponse { user: Some(convert::user(user)) }))
    }

    async fn mark_email_verified(
        &self,
        request: Request<pb::MarkEmailVerifiedRequest>,
    ) -> Reply<pb::MarkEmailVerifiedResponse> {
        let m = request.get_ref();
        let user_id = convert::uuid("user_id", &m.user_id)?;
        let user = accounts::mark_email_verified(&self.state, user_id, &m.email).await?;
        Ok(Response::new(pb::MarkEmailVerifiedResponse { user: Some(convert::user(user)) }))
    }

    async fn list_signing_keys(
        &self,
        _request: Request<pb::ListSigningKeysRequest>,
    ) -> Reply<pb::ListSigningKeysResponse> {
        let mut conn = self.state.conn().await?;
        let rows = signing_keys::list_usable(&mut conn).await.map_err(AuthError::from)?;
        let keys = rows
            .into_iter()
            .map(|k| pb::SigningKey {
                kid: k.kid,
                public_key: k.public_key,
                verify_until: k.verify_until.map(convert::timestamp),
            })
            .collect();
        let tokens = &self.state.settings.tokens;
        Ok(Response::new(pb::ListSigningKeysResponse {
            keys,
            issuer: tokens.issuer.clone(),
            audience: tokens.audience.clone(),
        }))
    }

    type WatchRevokedSessionsStream = ReceiverStream<Result<pb::WatchRevokedSessionsResponse, Status>>;

    async fn watch_revoked_sessions(
        &self,
        _request: Request<pb::WatchRevokedSessionsRequest>,
    ) -> Reply<Self::WatchRevokedSessionsStream> {
        // Subscribe before reading the snapshot, so nothing falls between the two.
        let events = self.state.hub.subscribe();
        let first = snapshot(&self.state).await?;
        let (tx, rx) = mpsc::channel(64);
        tx.send(Ok(first)).await.map_err(|_| Status::cancelled("subscriber went away"))?;
        tokio::spawn(pump(self.state.clone(), events, tx, self.shutdown.clone()));
        Ok(Response::new(ReceiverStream::new(rx)))
    }
}
