//! bcrypt hashing, always on the blocking thread pool so that a burst of logins never stalls
//! the async workers.
//!
//! At most one hash per core runs at a time (a process-wide semaphore): more would only make
//! every hash slower and crowd the async workers off the CPU. Hashes waiting for a core or
//! running are counted in the `operant_bcrypt_queue_depth` gauge ([`instrument`]).
//!
//! bcrypt uses at most 72 bytes. All 72 count (the plain bcrypt functions drop only the C
//! terminator; the crate's "non-truncating" variants would cap passwords at 71 bytes). The
//! policy is 8 to 72 *characters* (what the OpenAPI document can state), so a password may be
//! up to 288 bytes of UTF-8; nothing is ever truncated:
//! - a password of at most 72 bytes is hashed by bcrypt as it is (every hash stored before this
//!   rule existed is of this kind, and verifies exactly as it always did);
//! - a longer one is first digested — SHA-256 over a domain-separation prefix and the password,
//!   base64 (43 bytes) — and that digest is hashed by bcrypt; the stored hash is marked with
//!   [`DIGESTED`] in front of bcrypt's own `$2b$...`.
//!
//! [`verify`] takes the path the stored hash names and matches only a password of that size
//! (a long password never matches a plain hash, a short one never a digested hash), always
//! spending one bcrypt computation. [`hash`] refuses more than 72 characters again.

use std::sync::{LazyLock, OnceLock};

use prometheus_client::metrics::gauge::Gauge;
use tokio::sync::Semaphore;

use base64::Engine;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use sha2::{Digest, Sha256};

use crate::error::{AuthError, AuthResult};
use crate::validate::{MAX_PASSWORD_BYTES, MAX_PASSWORD_CHARS};

/// The mark in front of the bcrypt hash of a digested (longer than 72 bytes) password.
pub const DIGESTED: &str = "$operant-sha256$";

/// What bcrypt hashes for a password of more than 72 bytes: 43 bytes of base64.
fn digest(password: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"operant password digest v1\0");
    h.update(password.as_bytes());
    STANDARD_NO_PAD.encode(h.finalize())
}

pub async fn hash(password: String, cost: u32) -> AuthResult<String> {
    if password.chars().count() > MAX_PASSWORD_CHARS {
        return Err(AuthError::invalid(
            "password",
            format!("must be at most {MAX_PASSWORD_CHARS} characters"),
        ));
    }
    on_a_core(move || {
        if password.len() <= MAX_PASSWORD_BYTES {
            bcrypt::hash(password, cost)
        } else {
            bcrypt::hash(digest(&password), cost).map(|h| format!("{DIGESTED}{h}"))
        }
    })
    .await?
    .map_err(AuthError::internal)
}

static CORES: LazyLock<Semaphore> =
    LazyLock::new(|| Semaphore::new(std::thread::available_parallelism().map(usize::from).unwrap_or(1)));
static QUEUE: OnceLock<Gauge> = OnceLock::new();

/// Reports the queue depth in `gauge` (the first call wins; the queue is process-wide).
pub fn instrument(gauge: Gauge) {
    let _ = QUEUE.set(gauge);
}

/// Runs one hash computation on the blocking pool once a core is free.
async fn on_a_core<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> AuthResult<T> {
    let queue = QUEUE.get();
    if let Some(q) = queue {
        q.inc();
    }
    let result = async {
        let _permit = CORES.acquire().await.map_err(AuthError::internal)?;
        tokio::task::spawn_blocking(work).await.map_err(AuthError::internal)
    }
    .await;
    if let Some(q) = queue {
        q.dec();
    }
    result
}

/// Whether `password` matches `hash`. Malformed hashes never match, nor does a password of
/// another size than the one the hash was made for (see the module's note).
pub async fn verify(password: String, hash: String) -> AuthResult<bool> {
    on_a_core(move || match hash.strip_prefix(DIGESTED) {
        Some(inner) => {
            let matches = bcrypt::verify(digest(&password), inner).unwrap_or(false);
            matches && password.len() > MAX_PASSWORD_BYTES && password.chars().count() <= MAX_PASSWORD_CHARS
        }
        None => {
            let matches = bcrypt::verify(&password, &hash).unwrap_or(false);
            matches && password.len() <= MAX_PASSWORD_BYTES
        }
    })
    .await
}

/// A hash of a random password with the configured cost, verified against when the email is
/// unknown so that unknown emails take as long as wrong passwords.
pub async fn dummy_hash(cost: u32) -> AuthResult<String> {
    hash(crate::secrets::random_token(), cost).await
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[tokio::test]
    async fn short_passwords_keep_plain_bcrypt_and_long_ones_are_digested_not_truncated() {
        // A hash made the way every stored hash was made before (plain bcrypt) still verifies.
        let old = bcrypt::hash("x".repeat(72), 4).unwrap();
        assert!(verify("x".repeat(72), old.clone()).await.unwrap());
        assert!(!verify("x".repeat(73), old).await.unwrap());
        let plain = hash("password-1".into(), 4).await.unwrap();
        assert!(plain.starts_with("$2"), "{plain}");
        assert!(verify("password-1".into(), plain).await.unwrap());
        // 30 three-byte characters: 90 bytes, digested; its first 72 bytes do not match.
        let long = "\u{20ac}".repeat(30);
        let stored = hash(long.clone(), 4).await.unwrap();
        assert!(stored.starts_with(DIGESTED), "{stored}");
        assert!(verify(long.clone(), stored.clone()).await.unwrap());
        assert!(!verify("\u{20ac}".repeat(24), stored.clone()).await.unwrap());
        assert!(!verify(format!("{long}x"), stored.clone()).await.unwrap());
        assert!(!verify(digest(&long), stored).await.unwrap(), "the digest itself is not the password");
        assert!(hash("\u{20ac}".repeat(73), 4).await.is_err());
    }
}
