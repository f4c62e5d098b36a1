//! Instant logout: revocations travel through PostgreSQL LISTEN/NOTIFY.
//!
//! Every revocation is committed together with `NOTIFY operant_session_revoked, '<sid>'`. Each
//! auth process keeps one dedicated connection that LISTENs (see [`spawn_listener`]); each
//! notification goes into the process's own [`TokenVerifier`] revocation set and into a tokio
//! broadcast that feeds the `WatchRevokedSessions` streams of the other services. So a logout on
//! any replica reaches every verifier in milliseconds, with no call to auth per request.
//!
//! Notifications sent while a listener is disconnected are lost, so after every (re)connect the
//! listener first LISTENs, then reloads the full snapshot (sessions revoked within the access
//! TTL + margin) and tells subscribers to resynchronise ([`Revocation::Resync`]).

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use futures::StreamExt;
use operant_platform::shutdown::Shutdown;
use operant_platform::tokens::TokenVerifier;
use tokio::sync::{Notify, broadcast};
use uuid::Uuid;

use crate::repo::sessions::{self as sessions_repo, REVOKED_CHANNEL};
use crate::repo::signing_keys::ROTATED_CHANNEL;

/// Extra time a revocation is remembered beyond the access TTL (clock skew, verifier leeway).
pub const FORGET_MARGIN: Duration = Duration::from_secs(60);

/// An event for `WatchRevokedSessions` subscribers.
#[derive(Debug, Clone)]
pub enum Revocation {
    /// One session revoked; remember until the unix time given.
    Session(Uuid, i64),
    /// Revocations may have been missed: reload the snapshot.
    Resync,
}

/// Fan-out of revocations to stream subscribers, plus the revocation lifetime.
#[derive(Clone)]
pub struct RevocationHub {
    tx: broadcast::Sender<Revocation>,
    /// How long after its revocation a session can still have unexpired access tokens.
    keep: chrono::Duration,
}

impl RevocationHub {
    pub fn new(access_ttl: Duration) -> Self {
        let keep =
            chrono::Duration::from_std(access_ttl + FORGET_MARGIN).unwrap_or(chrono::Duration::hours(1));
        Self { tx: broadcast::channel(4096).0, keep }
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Revocation> {
        self.tx.subscribe()
    }

    /// Unix time after which a session revoked at `revoked_at` can be forgotten.
    pub fn forget_after(&self, revoked_at: DateTime<Utc>) -> i64 {
        (revoked_at + self.keep).timestamp()
    }

    /// The oldest revocation time still relevant now.
    pub fn snapshot_since(&self) -> DateTime<Utc> {
        Utc::now() - self.keep
    }

    /// Every revocation still relevant, as (session, forget_after).
    pub async fn snapshot(&self, conn: &mut AsyncPgConnection) -> diesel::QueryResult<Vec<(Uuid, i64)>> {
        let rows = sessions_repo::revoked_since(conn, self.snapshot_since()).await?;
        Ok(rows.into_iter().map(|(id, at)| (id, self.forget_after(at))).collect())
    }

    fn publish(&self, event: Revocation) {
        // No subscribers is fine.
        let _ = self.tx.send(event);
    }
}

/// Runs the LISTEN connection until `shutdown`, reconnecting with backoff. `ready` is notified
/// after the first successful snapshot. `keys_changed` is notified on signing-key rotations.
pub fn spawn_listener(
    database_url: String,
    verifier: Arc<TokenVerifier>,
    hub: RevocationHub,
    keys_changed: Arc<Notify>,
    ready: Arc<Notify>,
    shutdown: Shutdown,
) {
    tokio::spawn(async move {
        let mut backoff = Duration::from_millis(100);
        loop {
            let session = listen_once(&database_url, &verifier, &hub, &keys_changed, &ready, &mut backoff);
            tokio::select! {
                result = session => {
                    if let Err(e) = result {
                        tracing::warn!(error = %e, "revocation listener interrupted; reconnecting");
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
    verifier: &TokenVerifier,
    hub: &RevocationHub,
    keys_changed: &Notify,
    ready: &Notify,
    backoff: &mut Duration,
) -> anyhow::Result<()> {
    let mut conn = tokio::time::timeout(Duration::from_secs(5), AsyncPgConnection::establish(database_url))
        .await
        .map_err(|_| anyhow::anyhow!("connect timed out"))??;
    diesel::sql_query(format!("LISTEN {REVOKED_CHANNEL}")).execute(&mut conn).await?;
    diesel::sql_query(format!("LISTEN {ROTATED_CHANNEL}")).execute(&mut conn).await?;
    // LISTEN is active from here on: the snapshot cannot miss a revocation.
    let snapshot = hub.snapshot(&mut conn).await?;
    verifier.revocations().replace(snapshot);
    hub.publish(Revocation::Resync);
    keys_changed.notify_one();
    ready.notify_one();
    *backoff = Duration::from_millis(100);
    tracing::debug!("revocation listener connected");
    loop {
        let next = {
            let mut stream = std::pin::pin!(conn.notifications_stream());
            tokio::time::timeout(Duration::from_secs(20), stream.next()).await
        };
        match next {
            Ok(Some(Ok(notification))) => {
                if notification.channel == REVOKED_CHANNEL {
                    match notification.payload.parse::<Uuid>() {
                        Ok(sid) => {
                            let forget_after = hub.forget_after(Utc::now());
                            verifier.revocations().insert(sid, forget_after);
                            hub.publish(Revocation::Session(sid, forget_after));
                        }
                        Err(_) => tracing::warn!(payload = %notification.payload, "bad revocation payload"),
                    }
                } else if notification.channel == ROTATED_CHANNEL {
                    keys_changed.notify_one();
                }
            }
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
