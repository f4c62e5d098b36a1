//! Organization API keys, verified by every service: `Authorization: Bearer opk_…`.
//!
//! A key is `opk_` + 43 base64url characters (256 random bits), stored by the tenancy service
//! only as its SHA-256 digest (the secret has full entropy, so a slow password hash would add
//! nothing but CPU). An [`ApiKeyVerifier`] hashes the presented key and looks the digest up in
//! its cache; only a miss asks its [`KeyResolver`] (tenancy's `ResolveApiKey`, or tenancy's own
//! domain inside tenancy). So after the first use, a request with a key costs one SHA-256 and a
//! hash-map lookup, the same order as a cached access token.
//!
//! What keeps the cache honest:
//! - **Revocations are pushed**: tenancy streams every revoked key id
//!   ([`crate::keysync::spawn_key_sync`]); [`ApiKeyVerifier::revoke`] drops its entries and
//!   remembers the id for [`REVOKED_MEMORY`], so a lookup that was in flight when the key was
//!   revoked cannot put it back. A new stream starts with a snapshot marker, which empties the
//!   cache ([`ApiKeyVerifier::forget_all`]): revocations missed while disconnected cannot linger.
//! - **Expiry is checked on every use**, from the cached `expires_at`.
//! - **Entries live [`CACHE_TTL`]** at most, so even without the stream a revoked key is
//!   refused within a minute, and each service resolves each key in use about once a minute —
//!   which is also when tenancy writes the coarse `last_used_at`.
//!
//! Failures are never cached: tenancy counts every invalid key per client address and throttles
//! the address (429 `TOO_MANY_ATTEMPTS`), which only works if each attempt reaches it.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest as _, Sha256};
use uuid::Uuid;

use crate::error::{ApiError, ErrorCode};

/// Prefix of every API key, so a bearer is recognised as one without a lookup.
pub const API_KEY_PREFIX: &str = "opk_";
/// Random bytes of a key.
pub const API_KEY_RANDOM_BYTES: usize = 32;
/// Characters of the secret shown in lists (`opk_` + 8).
pub const API_KEY_DISPLAY_CHARS: usize = API_KEY_PREFIX.len() + 8;
/// Longest a resolved key is trusted without asking tenancy again.
pub const CACHE_TTL: Duration = Duration::from_secs(60);
/// How long a revoked key id is remembered (far beyond any lookup's deadline).
pub const REVOKED_MEMORY: Duration = Duration::from_secs(300);
/// Most keys the cache remembers.
const CACHE_CAPACITY: usize = 4096;

/// A SHA-256 digest of a key's secret: how keys are stored and looked up.
pub type KeyDigest = [u8; 32];

/// The role an API key acts with (never OWNER).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyRole {
    Admin,
    Member,
}

/// The verified API key of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyPrincipal {
    pub key_id: Uuid,
    pub organization_id: Uuid,
    pub role: KeyRole,
    /// Expiry (unix seconds); `None` for never.
    pub expires_at: Option<i64>,
}

impl KeyPrincipal {
    fn check_expiry(&self, now: i64) -> Result<(), ApiError> {
        match self.expires_at {
            Some(at) if at <= now => Err(expired()),
            _ => Ok(()),
        }
    }
}

/// A new random key: the secret to hand out once, and its digest to store.
pub fn generate() -> (String, KeyDigest) {
    let mut bytes = [0u8; API_KEY_RANDOM_BYTES];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut bytes);
    let secret = format!("{API_KEY_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes));
    let digest = digest(&secret);
    (secret, digest)
}

/// The SHA-256 of a secret.
pub fn digest(secret: &str) -> KeyDigest {
    Sha256::digest(secret.as_bytes()).into()
}

/// Whether a bearer value is meant as an API key (it carries the prefix).
pub fn is_api_key(bearer: &str) -> bool {
    bearer.starts_with(API_KEY_PREFIX)
}

/// `opk_` + exactly the base64url of [`API_KEY_RANDOM_BYTES`] bytes, or 401 `API_KEY_MALFORMED`.
fn check_format(secret: &str) -> Result<(), ApiError> {
    let body = secret.strip_prefix(API_KEY_PREFIX).unwrap_or("");
    let encoded_len = (API_KEY_RANDOM_BYTES * 4).div_ceil(3);
    let well_formed = body.len() == encoded_len
        && body.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        && URL_SAFE_NO_PAD.decode(body).is_ok_and(|raw| raw.len() == API_KEY_RANDOM_BYTES);
    if well_formed {
        Ok(())
    } else {
        Err(ApiError::new(ErrorCode::ApiKeyMalformed, "the API key is not well-formed"))
    }
}

fn expired() -> ApiError {
    ApiError::new(ErrorCode::ApiKeyExpired, "the API key has expired")
}

fn revoked() -> ApiError {
    ApiError::new(ErrorCode::ApiKeyRevoked, "the API key has been revoked")
}

fn unix_now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Resolves a digest to its key (tenancy's `ResolveApiKey`, or tenancy's domain inside tenancy).
#[tonic::async_trait]
pub trait KeyResolver: Send + Sync {
    /// The key whose secret has `digest`; `client_ip` is the caller's address, for throttling.
    /// Errors: 401 `API_KEY_UNKNOWN` / `API_KEY_EXPIRED` / `API_KEY_REVOKED`, 429
    /// `TOO_MANY_ATTEMPTS`, 503 when tenancy cannot answer.
    async fn resolve(&self, digest: KeyDigest, client_ip: Option<IpAddr>) -> Result<KeyPrincipal, ApiError>;
}

struct Cached {
    principal: KeyPrincipal,
    resolved_at: Instant,
}

/// Verifies API keys: a digest cache in front of a [`KeyResolver`] (see the module doc).
pub struct ApiKeyVerifier {
    resolver: Arc<dyn KeyResolver>,
    cache: RwLock<HashMap<KeyDigest, Cached>>,
    revoked: RwLock<HashMap<Uuid, Instant>>,
}

impl ApiKeyVerifier {
    pub fn new(resolver: Arc<dyn KeyResolver>) -> Self {
        Self { resolver, cache: RwLock::default(), revoked: RwLock::default() }
    }

    /// The key of `secret` (a bearer starting with `opk_`), from the cache or the resolver.
    pub async fn verify(&self, secret: &str, client_ip: Option<IpAddr>) -> Result<KeyPrincipal, ApiError> {
        check_format(secret)?;
        let digest = digest(secret);
        let now = unix_now();
        if let Some(principal) = self.cached(&digest) {
            principal.check_expiry(now)?;
            return Ok(principal);
        }
        let principal = self.resolver.resolve(digest, client_ip).await?;
        principal.check_expiry(now)?;
        self.remember(digest, &principal)?;
        Ok(principal)
    }

    /// A fresh cache entry; a revoked one is answered by [`Self::remember`]'s check below.
    fn cached(&self, digest: &KeyDigest) -> Option<KeyPrincipal> {
        let cache = self.cache.read().ok()?;
        let entry = cache.get(digest)?;
        (entry.resolved_at.elapsed() < CACHE_TTL).then(|| entry.principal.clone())
    }

    /// Caches a resolved key unless it was revoked meanwhile (then 401 `API_KEY_REVOKED`).
    fn remember(&self, digest: KeyDigest, principal: &KeyPrincipal) -> Result<(), ApiError> {
        let Ok(mut cache) = self.cache.write() else { return Ok(()) };
        // Checked under the cache's write lock, which `revoke` also takes: a revocation is
        // either seen here or removes the entry after it is inserted.
        if self.revoked.read().map(|r| r.contains_key(&principal.key_id)).unwrap_or(true) {
            return Err(revoked());
        }
        if cache.len() >= CACHE_CAPACITY {
            cache.retain(|_, entry| entry.resolved_at.elapsed() < CACHE_TTL);
            if cache.len() >= CACHE_CAPACITY {
                cache.clear();
            }
        }
        cache.insert(digest, Cached { principal: principal.clone(), resolved_at: Instant::now() });
        Ok(())
    }

    /// Refuses these keys from now on (a pushed revocation).
    pub fn revoke(&self, key_ids: impl IntoIterator<Item = Uuid>) {
        let ids: Vec<Uuid> = key_ids.into_iter().collect();
        if ids.is_empty() {
            return;
        }
        let Ok(mut cache) = self.cache.write() else { return };
        if let Ok(mut revoked) = self.revoked.write() {
            revoked.retain(|_, at| at.elapsed() < REVOKED_MEMORY);
            let now = Instant::now();
            revoked.extend(ids.iter().map(|id| (*id, now)));
        }
        cache.retain(|_, entry| !ids.contains(&entry.principal.key_id));
    }

    /// Forgets every cached key (a new revocation stream: what it missed is unknown).
    pub fn forget_all(&self) {
        if let Ok(mut cache) = self.cache.write() {
            cache.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    struct Fixed {
        principal: KeyPrincipal,
        calls: AtomicUsize,
    }

    #[tonic::async_trait]
    impl KeyResolver for Fixed {
        async fn resolve(&self, _: KeyDigest, _: Option<IpAddr>) -> Result<KeyPrincipal, ApiError> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            Ok(self.principal.clone())
        }
    }

    fn verifier(expires_at: Option<i64>) -> (ApiKeyVerifier, Arc<Fixed>) {
        let principal = KeyPrincipal {
            key_id: Uuid::new_v4(),
            organization_id: Uuid::new_v4(),
            role: KeyRole::Member,
            expires_at,
        };
        let resolver = Arc::new(Fixed { principal, calls: AtomicUsize::new(0) });
        (ApiKeyVerifier::new(resolver.clone()), resolver)
    }

    fn code(result: Result<KeyPrincipal, ApiError>) -> &'static str {
        result.err().map(|e| e.error_code.as_str()).unwrap_or("OK")
    }

    #[test]
    fn generated_keys_are_well_formed_and_distinct() {
        let (a, digest_a) = generate();
        let (b, _) = generate();
        assert!(a.starts_with(API_KEY_PREFIX) && a.len() == 4 + 43, "{}", a.len());
        assert_ne!(a, b);
        assert_eq!(digest(&a), digest_a);
        assert!(check_format(&a).is_ok());
        for bad in ["opk_", "opk_short", &format!("{a}x"), &a.replace(&a[10..11], "!")] {
            assert_eq!(check_format(bad).map_err(|e| e.error_code), Err(ErrorCode::ApiKeyMalformed), "{bad}");
        }
    }

    #[tokio::test]
    async fn a_key_is_resolved_once_then_served_from_the_cache() {
        let (v, resolver) = verifier(None);
        let (secret, _) = generate();
        for _ in 0..3 {
            assert_eq!(code(v.verify(&secret, None).await), "OK");
        }
        assert_eq!(resolver.calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_revoked_key_is_refused_even_when_its_lookup_was_in_flight() {
        let (v, resolver) = verifier(None);
        let (secret, _) = generate();
        assert_eq!(code(v.verify(&secret, None).await), "OK");
        v.revoke([resolver.principal.key_id]);
        // The resolver (an answer read before the revocation) still says valid.
        assert_eq!(code(v.verify(&secret, None).await), "API_KEY_REVOKED");
        assert_eq!(resolver.calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn an_expired_key_is_refused_from_the_cache() {
        let (v, _) = verifier(Some(unix_now() + 1));
        let (secret, _) = generate();
        assert_eq!(code(v.verify(&secret, None).await), "OK");
        if let Ok(mut cache) = v.cache.write() {
            for entry in cache.values_mut() {
                entry.principal.expires_at = Some(unix_now() - 1);
            }
        }
        assert_eq!(code(v.verify(&secret, None).await), "API_KEY_EXPIRED");
    }
}
