//! The cache of tenancy's `Authorize` answers, kept fresh by tenancy's `WatchStandingChanges`
//! stream, so a project or task call does not cost a hop to tenancy (and its PostgreSQL query)
//! while the caller's standing is unchanged.
//!
//! **What is cached**: per principal (a user or an API key) and organization, exactly what work
//! uses of the answer — whether the role is OWNER or ADMIN, and the plan's `max_projects`. Only
//! positive answers: a refusal always asks tenancy again, and so does a call the domain would
//! refuse on a cached answer (see `Standing::refuse`), so the bound below applies only to what a
//! change takes away, never to what it grants.
//!
//! **The freshness bound** ([`FRESHNESS`], 500 ms): tenancy sends the organization of every
//! change to a standing (member added, re-roled or removed, ownership transferred, plan changed,
//! API key revoked, organization deleted; made through any tenancy replica, announced through
//! PostgreSQL), and the watcher drops that organization's entries when it arrives. The watcher
//! pings every [`PING_EVERY`]; tenancy answers a ping only after every change committed before
//! the ping reached it has been sent ahead of the answer. So when the pong of a ping sent at
//! `t` (by this process's clock) has arrived, the cache reflects every change committed before
//! `t`, and entries are served only until `t + FRESHNESS`. A stream that is cut, stalled or
//! lagging (tenancy, its listener or PostgreSQL slow or down) stops the pongs, and within
//! [`FRESHNESS`] every call asks tenancy again (and a cut stream empties the cache); a change is
//! therefore never ignored for longer than [`FRESHNESS`] after it committed, whatever fails.
//!
//! An answer fetched while a change was being announced is not stored (a generation counter,
//! bumped by every invalidation, must be unchanged between the question and the answer), so an
//! invalidation can never be overtaken by the answer it invalidates. The cache holds at most
//! [`CAPACITY`] entries (full → emptied) and an entry at most [`MAX_AGE`].

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use futures::StreamExt;
use operant_platform::balance::ClientStreaming;
use operant_platform::clients::ServiceChannel;
use operant_platform::shutdown::Shutdown;
use operant_proto::tenancy::v1::WatchStandingChangesRequest;
use operant_proto::tenancy::v1::tenancy_internal_service_client::TenancyInternalServiceClient;
use tokio::sync::mpsc;
use tokio::time::Instant;
use uuid::Uuid;

/// How long after the ping of the last pong the cache is trusted (the bound of staleness).
pub const FRESHNESS: Duration = Duration::from_millis(500);
/// How often the watcher pings.
pub const PING_EVERY: Duration = Duration::from_millis(100);
/// Most entries held.
pub const CAPACITY: usize = 100_000;
/// Longest an entry is used, announced changes or not.
pub const MAX_AGE: Duration = Duration::from_secs(60);

/// Who is asking: a user or an organization API key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Principal {
    User(Uuid),
    ApiKey(Uuid),
}

/// What work needs of an `Authorize` answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Access {
    /// OWNER or ADMIN.
    pub is_admin: bool,
    /// The plan's project limit.
    pub max_projects: i64,
}

#[derive(Default)]
struct Entries {
    /// Bumped by every invalidation.
    generation: u64,
    by_organization: HashMap<Uuid, HashMap<Principal, (Access, Instant)>>,
    len: usize,
}

/// The standing cache (see the module documentation).
pub struct StandingCache {
    /// The clock's origin for [`StandingCache::fresh_until`].
    origin: Instant,
    /// Microseconds after `origin` until which entries are served; 0: not now.
    fresh_until: AtomicU64,
    entries: RwLock<Entries>,
    hits: AtomicU64,
}

impl Default for StandingCache {
    fn default() -> Self {
        Self {
            origin: Instant::now(),
            fresh_until: AtomicU64::new(0),
            entries: RwLock::default(),
            hits: AtomicU64::new(0),
        }
    }
}

impl StandingCache {
    fn micros(&self, at: Instant) -> u64 {
        u64::try_from(at.saturating_duration_since(self.origin).as_micros()).unwrap_or(u64::MAX)
    }

    /// Whether entries may be served now.
    pub fn is_fresh(&self) -> bool {
        self.micros(Instant::now()) < self.fresh_until.load(Ordering::Acquire)
    }

    /// The cached access of `principal` in `organization_id`, if the cache is fresh.
    pub fn get(&self, principal: Principal, organization_id: Uuid) -> Option<Access> {
        if !self.is_fresh() {
            return None;
        }
        let entries = self.entries.read().unwrap_or_else(|e| e.into_inner());
        let (access, at) = entries.by_organization.get(&organization_id)?.get(&principal)?;
        if at.elapsed() > MAX_AGE {
            return None;
        }
        self.hits.fetch_add(1, Ordering::Relaxed);
        Some(*access)
    }

    /// How many calls the cache answered (for tests and the curious).
    pub fn hits(&self) -> u64 {
        self.hits.load(Ordering::Relaxed)
    }

    /// Take before asking tenancy, pass to [`StandingCache::insert`] with the answer.
    pub fn generation(&self) -> u64 {
        self.entries.read().unwrap_or_else(|e| e.into_inner()).generation
    }

    /// Stores tenancy's answer unless something was invalidated since `generation` was taken.
    pub fn insert(&self, principal: Principal, organization_id: Uuid, access: Access, generation: u64) {
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        if entries.generation != generation {
            return;
        }
        if entries.len >= CAPACITY {
            entries.by_organization.clear();
            entries.len = 0;
        }
        let previous = entries
            .by_organization
            .entry(organization_id)
            .or_default()
            .insert(principal, (access, Instant::now()));
        if previous.is_none() {
            entries.len += 1;
        }
    }

    /// Forgets every entry of these organizations.
    pub fn forget_organizations(&self, organization_ids: impl IntoIterator<Item = Uuid>) {
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        entries.generation += 1;
        for id in organization_ids {
            if let Some(gone) = entries.by_organization.remove(&id) {
                entries.len -= gone.len();
            }
        }
    }

    /// Forgets every entry.
    pub fn forget_all(&self) {
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        entries.generation += 1;
        entries.by_organization.clear();
        entries.len = 0;
    }

    /// Every change committed before `pinged_at` has been applied: serve until
    /// `pinged_at + FRESHNESS`.
    pub fn confirmed(&self, pinged_at: Instant) {
        self.fresh_until.fetch_max(self.micros(pinged_at + FRESHNESS), Ordering::AcqRel);
    }

    /// The stream is gone: serve nothing, forget everything.
    pub fn disconnected(&self) {
        self.fresh_until.store(0, Ordering::Release);
        self.forget_all();
    }

    /// Entries held.
    pub fn len(&self) -> usize {
        self.entries.read().unwrap_or_else(|e| e.into_inner()).len
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Spawns the watcher of tenancy's `WatchStandingChanges`, reconnected with backoff until
/// `shutdown`; the cache serves only while it confirms freshness.
pub fn spawn_watch(
    cache: Arc<StandingCache>,
    client: TenancyInternalServiceClient<ServiceChannel>,
    shutdown: Shutdown,
) {
    tokio::spawn(async move {
        let mut backoff = Duration::from_millis(100);
        loop {
            tokio::select! {
                result = watch_once(&cache, client.clone(), &mut backoff) => {
                    if let Err(status) = result {
                        tracing::warn!(%status, "standing change stream interrupted; reconnecting");
                    }
                }
                _ = shutdown.wait() => {
                    cache.disconnected();
                    return;
                }
            }
            cache.disconnected();
            tokio::select! {
                _ = tokio::time::sleep(backoff) => {}
                _ = shutdown.wait() => return,
            }
            backoff = (backoff * 2).min(Duration::from_secs(2));
        }
    });
}

/// Most pings remembered while waiting for their pongs.
const MAX_UNANSWERED: usize = 64;

async fn watch_once(
    cache: &StandingCache,
    mut client: TenancyInternalServiceClient<ServiceChannel>,
    backoff: &mut Duration,
) -> Result<(), tonic::Status> {
    let (pings, outgoing) = mpsc::channel::<WatchStandingChangesRequest>(8);
    let mut request = tonic::Request::new(tokio_stream::wrappers::ReceiverStream::new(outgoing));
    request.extensions_mut().insert(ClientStreaming);
    let mut stream = client.watch_standing_changes(request).await?.into_inner();
    let mut sent: VecDeque<(u64, Instant)> = VecDeque::new();
    let mut next_ping = 0u64;
    let mut ticks = tokio::time::interval(PING_EVERY);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticks.tick() => {
                next_ping += 1;
                // The time is taken before the ping leaves: the pong proves at least that much.
                sent.push_back((next_ping, Instant::now()));
                if sent.len() > MAX_UNANSWERED {
                    sent.pop_front();
                }
                // A full queue means tenancy is not reading: the pongs stop and so does the cache.
                let _ = pings.try_send(WatchStandingChangesRequest { ping: next_ping });
            }
            message = stream.next() => {
                let Some(message) = message else { return Ok(()) };
                let message = message?;
                *backoff = Duration::from_millis(100);
                if message.snapshot {
                    cache.forget_all();
                }
                if !message.organization_ids.is_empty() {
                    let ids: Result<Vec<Uuid>, _> = message.organization_ids.iter().map(|id| id.parse()).collect();
                    match ids {
                        Ok(ids) => cache.forget_organizations(ids),
                        // Not understood: forget everything rather than guess.
                        Err(_) => cache.forget_all(),
                    }
                }
                if message.pong != 0 {
                    while let Some(&(ping, at)) = sent.front() && ping <= message.pong {
                        sent.pop_front();
                        if ping == message.pong {
                            cache.confirmed(at);
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ADMIN: Access = Access { is_admin: true, max_projects: 5 };

    #[tokio::test(start_paused = true)]
    async fn entries_are_served_only_within_the_bound_after_a_confirmed_ping() {
        let cache = StandingCache::default();
        let (who, org) = (Principal::User(Uuid::new_v4()), Uuid::new_v4());
        cache.insert(who, org, ADMIN, cache.generation());
        assert_eq!(cache.get(who, org), None, "nothing is served before the first pong");
        let pinged = Instant::now();
        tokio::time::advance(Duration::from_millis(30)).await;
        cache.confirmed(pinged);
        assert_eq!(cache.get(who, org), Some(ADMIN));
        tokio::time::advance(FRESHNESS - Duration::from_millis(31)).await;
        assert_eq!(cache.get(who, org), Some(ADMIN));
        tokio::time::advance(Duration::from_millis(2)).await;
        assert_eq!(cache.get(who, org), None, "no pong for FRESHNESS after the ping: not served");
        cache.confirmed(Instant::now());
        assert_eq!(cache.get(who, org), Some(ADMIN), "a later pong serves it again");
        cache.disconnected();
        assert_eq!(cache.get(who, org), None);
        assert!(cache.is_empty(), "a cut stream empties the cache");
    }

    #[tokio::test(start_paused = true)]
    async fn an_answer_overtaken_by_an_invalidation_is_not_stored() {
        let cache = StandingCache::default();
        cache.confirmed(Instant::now());
        let (who, org, other) = (Principal::ApiKey(Uuid::new_v4()), Uuid::new_v4(), Uuid::new_v4());
        let generation = cache.generation();
        cache.forget_organizations([other]);
        cache.insert(who, org, ADMIN, generation);
        assert_eq!(cache.get(who, org), None);
        cache.insert(who, org, ADMIN, cache.generation());
        cache.insert(who, other, ADMIN, cache.generation());
        assert_eq!(cache.len(), 2);
        cache.forget_organizations([org]);
        assert_eq!((cache.get(who, org), cache.get(who, other)), (None, Some(ADMIN)));
        assert_eq!(cache.len(), 1);
        tokio::time::advance(MAX_AGE + Duration::from_secs(1)).await;
        cache.confirmed(Instant::now());
        assert_eq!(cache.get(who, other), None, "entries expire after MAX_AGE");
    }

    #[tokio::test(start_paused = true)]
    async fn the_cache_never_holds_more_than_its_capacity() {
        let cache = StandingCache::default();
        let org = Uuid::new_v4();
        for _ in 0..CAPACITY + 10 {
            cache.insert(Principal::User(Uuid::new_v4()), org, ADMIN, cache.generation());
        }
        assert!(cache.len() <= CAPACITY);
    }
}
