//! The verifier's cache of access tokens already verified (see [`VerifiedCache`]).

use std::collections::HashMap;
use std::sync::RwLock;

use super::UserPrincipal;

/// Most tokens [`VerifiedCache`] remembers.
const VERIFIED_CACHE_CAPACITY: usize = 4096;

/// Access tokens whose signature and claims already passed verification, by their exact text.
///
/// A client sends the same access token with every request for its whole lifetime, and the
/// Ed25519 check is the largest CPU cost of a cheap request (about a quarter of the process's
/// CPU on `GET /users/me` in the benchmark's profile). A token found here skips only the
/// signature and claim parsing: its expiry and its session's revocation are checked on every
/// use, exactly as on a miss, and the cache is emptied whenever the key set changes (so a
/// retired or removed key stops validating its tokens at once). Lookups compare the whole token,
/// so only byte-identical tokens hit; a token whose signature or claims fail is never cached.
#[derive(Default)]
pub(super) struct VerifiedCache {
    entries: RwLock<HashMap<Box<str>, UserPrincipal>>,
}

impl VerifiedCache {
    pub(super) fn get(&self, token: &str) -> Option<UserPrincipal> {
        self.entries.read().ok()?.get(token).cloned()
    }

    pub(super) fn insert(&self, token: &str, principal: &UserPrincipal, now: i64, leeway: i64) {
        let Ok(mut entries) = self.entries.write() else { return };
        if entries.len() >= VERIFIED_CACHE_CAPACITY {
            entries.retain(|_, p| p.expires_at + leeway >= now);
            if entries.len() >= VERIFIED_CACHE_CAPACITY {
                entries.clear();
            }
        }
        entries.insert(token.into(), principal.clone());
    }

    pub(super) fn clear(&self) {
        if let Ok(mut entries) = self.entries.write() {
            entries.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::*;

    fn unix_now() -> i64 {
        chrono::Utc::now().timestamp()
    }

    #[test]
    fn the_cache_stays_bounded() {
        let cache = VerifiedCache::default();
        let now = unix_now();
        let principal =
            |expires_at| UserPrincipal { user_id: Uuid::nil(), session_id: Uuid::nil(), expires_at };
        // Full of expired entries: they make room.
        for i in 0..VERIFIED_CACHE_CAPACITY {
            cache.insert(&format!("expired-{i}"), &principal(now - 60), now, 5);
        }
        cache.insert("fresh-0", &principal(now + 600), now, 5);
        assert!(cache.get("fresh-0").is_some());
        assert!(cache.get("expired-0").is_none());
        // Full of live entries: it starts over rather than grow.
        for i in 1..VERIFIED_CACHE_CAPACITY + 10 {
            cache.insert(&format!("fresh-{i}"), &principal(now + 600), now, 5);
        }
        let len = cache.entries.read().map(|e| e.len()).unwrap_or(usize::MAX);
        assert!(len <= VERIFIED_CACHE_CAPACITY, "{len} entries");
    }
}
