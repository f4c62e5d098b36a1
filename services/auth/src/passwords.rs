//! bcrypt hashing, always on the blocking thread pool so that a burst of logins never stalls
//! the async workers.
//!
//! bcrypt uses at most 72 bytes. All 72 count (the plain bcrypt functions drop only the C
//! terminator; the crate's "non-truncating" variants would cap passwords at 71 bytes), and
//! nothing longer is ever hashed or accepted: the policy refuses it at registration, [`hash`]
//! refuses it again, and [`verify`] never matches it (while still spending the same time).

use crate::error::{AuthError, AuthResult};
use crate::validate::MAX_PASSWORD_BYTES;

pub async fn hash(password: String, cost: u32) -> AuthResult<String> {
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(AuthError::invalid("password", "must be at most 72 bytes"));
    }
    tokio::task::spawn_blocking(move || bcrypt::hash(password, cost))
        .await
        .map_err(AuthError::internal)?
        .map_err(AuthError::internal)
}

/// Whether `password` matches `hash`. Malformed hashes and over-long passwords never match.
pub async fn verify(password: String, hash: String) -> AuthResult<bool> {
    tokio::task::spawn_blocking(move || {
        let matches = bcrypt::verify(&password, &hash).unwrap_or(false);
        matches && password.len() <= MAX_PASSWORD_BYTES
    })
    .await
    .map_err(AuthError::internal)
}

/// A hash of a random password with the configured cost, verified against when the email is
/// unknown so that unknown emails take as long as wrong passwords.
pub async fn dummy_hash(cost: u32) -> AuthResult<String> {
    hash(crate::secrets::random_token(), cost).await
}
