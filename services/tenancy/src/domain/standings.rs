//! The standing-change fan-out behind `WatchStandingChanges`: what lets another service cache
//! `Authorize` answers without ever honouring a stale one for longer than it chooses.
//!
//! Every write that changes an answer of `Authorize` — a membership added, re-roled or removed,
//! ownership transferred, a plan changed, an API key revoked, an organization deleted —
//! announces its organization on [`STANDING_CHANNEL`] in its own transaction
//! (`repo::standings::announce`). Each tenancy replica LISTENs on that channel (on the same
//! connection as the API-key revocations, `api_keys::spawn_listener`) and publishes what it hears
//! to its [`StandingHub`], whose subscribers are the open streams, so a change made through any
//! replica reaches every watcher of every replica.
//!
//! Freshness is proved, not assumed: a watcher pings; the replica answers a ping only once it
//! has heard one of its own ticks (a `NOTIFY` on the same channel, issued after the ping
//! arrived). PostgreSQL delivers notifications in commit order, so by then every change
//! committed before the ping has been forwarded on the stream ahead of the pong. The watcher
//! thus knows, by its own clock, that its cache reflects every change committed before the
//! ping it sent; a stalled listener, database or stream simply stops the pongs. Ticks are
//! coalesced: one in flight per replica however many streams ping.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use operant_platform::db::{self, PgPool};
use operant_platform::shutdown::Shutdown;
use tokio::sync::{Notify, broadcast};
use uuid::Uuid;

use crate::repo::standings::{self as repo, TICK_PREFIX};

pub use crate::repo::standings::STANDING_CHANNEL;

/// Shortest time between two ticks of a replica (pings arriving meanwhile share the next one).
const TICK_SPACING: Duration = Duration::from_millis(10);

/// An event for `WatchStandingChanges` subscribers.
#[derive(Debug, Clone, Copy)]
pub enum StandingEvent {
    /// The standings in this organization changed.
    Organization(Uuid),
    /// This replica heard its tick `n`: every change committed before it was issued was
    /// published before this event.
    Tick(u64),
    /// Changes may have been missed (the listener reconnected): forget everything.
    Resync,
}

#[derive(Default)]
struct TickState {
    /// The sequence number the next tick will carry.
    next: u64,
    /// Whether a ping waits for the next tick.
    wanted: bool,
}

struct Ticker {
    nonce: String,
    state: Mutex<TickState>,
    wake: Notify,
}

/// Fan-out of standing changes and of this replica's ticks to stream subscribers.
#[derive(Clone)]
pub struct StandingHub {
    tx: broadcast::Sender<StandingEvent>,
    ticker: Arc<Ticker>,
}

impl Default for StandingHub {
    fn default() -> Self {
        let ticker = Ticker {
            nonce: Uuid::new_v4().simple().to_string(),
            state: Mutex::new(TickState { next: 1, wanted: false }),
            wake: Notify::new(),
        };
        Self { tx: broadcast::channel(4096).0, ticker: Arc::new(ticker) }
    }
}

impl StandingHub {
    pub fn subscribe(&self) -> broadcast::Receiver<StandingEvent> {
        self.tx.subscribe()
    }

    /// Asks for a tick issued from now on and returns its sequence number: once
    /// [`StandingEvent::Tick`] of at least that number is published, every change committed
    /// before this call has been published.
    pub fn request_tick(&self) -> u64 {
        let next = {
            let mut state = self.ticker.state.lock().unwrap_or_else(|e| e.into_inner());
            state.wanted = true;
            state.next
        };
        self.ticker.wake.notify_one();
        next
    }

    /// A notification heard on [`STANDING_CHANNEL`].
    pub fn heard(&self, payload: &str) {
        if let Some(tick) = payload.strip_prefix(TICK_PREFIX) {
            // Other replicas' ticks prove nothing about this replica's subscribers.
            if let Some((nonce, sequence)) = tick.split_once(':')
                && nonce == self.ticker.nonce
                && let Ok(sequence) = sequence.parse()
            {
                self.publish(StandingEvent::Tick(sequence));
            }
            return;
        }
        match payload.parse::<Uuid>() {
            Ok(organization_id) => self.publish(StandingEvent::Organization(organization_id)),
            Err(_) => tracing::warn!(%payload, "bad standing change payload"),
        }
    }

    /// The listener (re)connected: whatever was missed is forgotten by every subscriber.
    pub fn resync(&self) {
        self.publish(StandingEvent::Resync);
    }

    fn publish(&self, event: StandingEvent) {
        // No subscribers is fine.
        let _ = self.tx.send(event);
    }

    /// The next tick to issue, if one is wanted.
    fn take_tick(&self) -> Option<u64> {
        let mut state = self.ticker.state.lock().unwrap_or_else(|e| e.into_inner());
        if !state.wanted {
            return None;
        }
        state.wanted = false;
        let sequence = state.next;
        state.next += 1;
        Some(sequence)
    }
}

/// Issues this replica's ticks while streams ask for them, until `shutdown`.
pub fn spawn_ticker(pool: PgPool, hub: StandingHub, shutdown: Shutdown) {
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = hub.ticker.wake.notified() => {}
                _ = shutdown.wait() => return,
            }
            let Some(sequence) = hub.take_tick() else { continue };
            let sent = match db::conn(&pool).await {
                Ok(mut conn) => {
                    repo::tick(&mut conn, &hub.ticker.nonce, sequence).await.map_err(|e| e.to_string())
                }
                Err(e) => Err(e.to_string()),
            };
            if let Err(error) = sent {
                // The waiting pings stay unanswered; their watchers stop trusting their caches.
                tracing::warn!(%error, "standing tick failed");
            }
            tokio::select! {
                _ = tokio::time::sleep(TICK_SPACING) => {}
                _ = shutdown.wait() => return,
            }
        }
    });
}
