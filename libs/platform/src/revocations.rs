//! The set of revoked sessions every verifier consults: a session in it has all its access
//! tokens refused, even the unexpired ones. Filled by the auth service itself and, in the other
//! services, by the revocation stream of [`crate::keysync`].

use std::collections::HashMap;
use std::sync::RwLock;

use uuid::Uuid;

/// Sessions whose access tokens are refused, each kept until no token of it can still be valid.
#[derive(Debug, Default)]
pub struct RevocationSet {
    inner: RwLock<HashMap<Uuid, i64>>,
}

impl RevocationSet {
    pub fn is_revoked(&self, session_id: &Uuid) -> bool {
        self.inner.read().map(|m| m.contains_key(session_id)).unwrap_or(true)
    }

    /// Records a revocation, remembered until `forget_after` (unix seconds).
    pub fn insert(&self, session_id: Uuid, forget_after: i64) {
        if let Ok(mut m) = self.inner.write() {
            m.insert(session_id, forget_after);
        }
    }

    /// Replaces everything with a snapshot.
    pub fn replace(&self, entries: impl IntoIterator<Item = (Uuid, i64)>) {
        if let Ok(mut m) = self.inner.write() {
            *m = entries.into_iter().collect();
        }
    }

    /// Forgets revocations whose tokens have all expired.
    pub fn purge(&self, now: i64) {
        if let Ok(mut m) = self.inner.write() {
            m.retain(|_, forget_after| *forget_after >= now);
        }
    }

    pub fn len(&self) -> usize {
        self.inner.read().map(|m| m.len()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
