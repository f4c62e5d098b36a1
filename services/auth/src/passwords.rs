//! bcrypt hashing, always on the blocking thread pool so that a burst of logins never stalls
//! the async workers.
//!
//! At most one hash per core runs at a time (a process-wide semaphore): more would only make
//! every hash slower and crowd the async workers off the CPU. Hashes waiting for a core or
//! running are counted in the `operant_bcrypt_queue_depth` gauge ([`instrument`]).
//!
//! bcrypt uses at most 72 bytes. All 72 count (the plain bcrypt functions drop only the C
//! terminator; the crate's "non-truncating" variants would cap passwords at 71 bytes), and
//! nothing longer is ever hashed or accepted: the policy refuses it at registration, [`hash`]
//! refuses it again, and [`verify`] never matches it (while still spending the same time).

use std::sync::{LazyLock, OnceLock};

use prometheus_client::metrics::gauge::Gauge;
use tokio::sync::Semaphore;

use crate::error::{AuthError, AuthResult};
use crate::validate::MAX_PASSWORD_BYTES;

pub async fn hash(password: String, cost: u32) -> AuthResult<String> {
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(AuthError::invalid("password", "must be at most 72 bytes"));
    }
    on_a_core(move || bcrypt::hash(password, cost)).await?.map_err(AuthError::internal)
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

/// Whether `password` matches `hash`. Malformed hashes and over-long passwords never match.
pub async fn verify(password: String, hash: String) -> AuthResult<bool> {
    on_a_core(move || {
        let matches = bcrypt::verify(&password, &hash).unwrap_or(false);
        matches && password.len() <= MAX_PASSWORD_BYTES
    })
    .await
}

/// A hash of a random password with the configured cost, verified against when the email is
/// unknown so that unknown emails take as long as wrong passwords.
pub async fn dummy_hash(cost: u32) -> AuthResult<String> {
    hash(crate::secrets::random_token(), cost).await
}
