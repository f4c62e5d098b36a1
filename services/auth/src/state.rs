//! What every request handler shares: the pool, settings, keys, verifier, revocation hub and
//! mail outbox worker.

use std::sync::Arc;

use chrono::Utc;
use operant_platform::config::Settings;
use operant_platform::db::{self, PgConn, PgPool};
use operant_platform::tokens::{AccessClaims, TokenVerifier};
use operant_seal::Keyring;
use uuid::Uuid;

use crate::error::AuthResult;
use crate::keys::KeyStore;
use crate::revocations::RevocationHub;

pub struct AuthState {
    pub pool: PgPool,
    pub settings: Arc<Settings>,
    pub keys: Arc<KeyStore>,
    pub verifier: Arc<TokenVerifier>,
    pub hub: RevocationHub,
    /// The `mail_outbox` worker of this replica (write mail with its outbox, then hint it).
    pub mail: operant_mail::Worker,
    /// The master key (and the previous one), sealing the refresh grace successors.
    pub keyring: Keyring,
    /// bcrypt hash verified against for unknown emails (equal timing).
    pub dummy_hash: String,
    /// The registration's kept answers (`idempotency_keys`).
    pub idempotency: operant_platform::idempotency::Store,
}

/// The parts of an access token other than its user and session: its id and issue time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AccessStamp {
    pub jti: Uuid,
    /// Unix seconds.
    pub iat: i64,
}

impl AccessStamp {
    /// A new id, issued now.
    pub fn now() -> Self {
        Self { jti: Uuid::new_v4(), iat: Utc::now().timestamp() }
    }
}

/// An access token and its lifetime in seconds.
pub struct SignedAccess {
    pub token: String,
    pub expires_in: i64,
}

impl AuthState {
    pub async fn conn(&self) -> AuthResult<PgConn> {
        Ok(db::conn(&self.pool).await?)
    }

    /// Signs an access token for a session.
    pub async fn access_token(&self, user_id: Uuid, session_id: Uuid) -> AuthResult<SignedAccess> {
        self.access_token_stamped(user_id, session_id, &AccessStamp::now()).await
    }

    /// Signs an access token for a session with a given id and issue time. The same arguments
    /// give the same token, byte for byte, while the active signing key and the token settings
    /// stay the same (EdDSA signatures are deterministic, RFC 8032 §5.1.6): how a refresh retried
    /// within the grace gets the access token of the first answer again.
    pub async fn access_token_stamped(
        &self,
        user_id: Uuid,
        session_id: Uuid,
        stamp: &AccessStamp,
    ) -> AuthResult<SignedAccess> {
        let ttl = self.access_ttl_secs();
        let claims = AccessClaims {
            sub: user_id.to_string(),
            sid: session_id.to_string(),
            jti: stamp.jti.to_string(),
            iat: stamp.iat,
            exp: stamp.iat + ttl,
            iss: self.settings.tokens.issuer.clone(),
            aud: self.settings.tokens.audience.clone(),
            typ: "access".to_owned(),
        };
        let token = self.keys.sign(&self.pool, &claims).await?;
        Ok(SignedAccess { token, expires_in: ttl })
    }

    /// The access token lifetime in seconds.
    pub fn access_ttl_secs(&self) -> i64 {
        i64::try_from(self.settings.tokens.access_ttl.as_secs()).unwrap_or(900)
    }

    /// Marks sessions revoked in this process at once (the NOTIFY reaches the others and,
    /// a moment later, this one again).
    pub fn revoked_locally(&self, ids: &[Uuid]) {
        let forget_after = self.hub.forget_after(Utc::now());
        for id in ids {
            self.verifier.revocations().insert(*id, forget_after);
        }
    }
}
