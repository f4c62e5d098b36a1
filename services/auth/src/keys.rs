//! Signing keys: creation on first start, loading, signing access tokens and rotation.
//!
//! Keys live in `signing_keys`, the private key (PKCS#8 DER) sealed with the master key
//! ([`operant_seal`], bound to the row's kid). The first replica to start creates one under a
//! transaction-scoped advisory lock, so replicas starting together never create two; under the
//! same lock it seals rows stored in plaintext by versions before sealing (the migration of an
//! existing database: the keys, and so the tokens they signed, stay the same). Every usable key
//! must open with the configured master keys, or the service refuses to start ([`UnusableKey`]).
//! Every replica keeps the keys in memory: the newest unretired key signs, and all usable keys
//! feed the replica's own [`TokenVerifier`]. They are reloaded every 60 s, when the verifier sees
//! an unknown `kid`, and at once when a rotation is announced on [`ROTATED_CHANNEL`].
//!
//! Rotation ([`rotate_signing_key`], the `operant rotate-keys` command) adds a key and
//! retires the active one with `verify_until = now + access TTL + 60 s`, so every token it signed
//! (even by a replica that has not reloaded yet) keeps verifying until it expires.
//!
//! [`ROTATED_CHANNEL`]: crate::repo::signing_keys::ROTATED_CHANNEL

use std::sync::{Arc, RwLock};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::Utc;
use diesel_async::{AsyncConnection, AsyncPgConnection};
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use ed25519_dalek::{Signer, SigningKey};
use jsonwebtoken::{Algorithm, Header};
use operant_platform::config::{ServiceDatabase, Settings};
use operant_platform::db::PgPool;
use operant_platform::shutdown::Shutdown;
use operant_platform::tokens::{AccessClaims, TokenVerifier};
use operant_seal::{Keyring, MAGIC, SealError};
use uuid::Uuid;

use crate::error::{AuthError, AuthResult};
use crate::repo::signing_keys as repo;
use crate::reseal::{SIGNING_KEYS, reseal_batch};

/// Margin added to the access TTL when retiring a key (replicas reload within 60 s).
pub const RETIRE_MARGIN: Duration = Duration::from_secs(60);

/// The key that signs, parsed once: `jsonwebtoken::encode` parses the PKCS#8 DER and derives
/// the public key (an Ed25519 scalar multiplication, as costly as the signature) on every call.
struct ActiveKey {
    key: SigningKey,
    /// The token's first segment, `base64url(JSON header)`, the same for every token.
    header: String,
}

impl ActiveKey {
    fn new(kid: &str, der: &[u8]) -> AuthResult<Self> {
        let key = SigningKey::from_pkcs8_der(der)
            .map_err(|_| AuthError::internal("the signing key is not Ed25519 PKCS#8"))?;
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(kid.to_owned());
        let header = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&header).map_err(AuthError::internal)?);
        Ok(Self { key, header })
    }

    /// A compact JWS of `claims`, byte for byte what `jsonwebtoken::encode` makes with the same
    /// header and key (Ed25519 is deterministic; tested).
    fn sign(&self, claims: &AccessClaims) -> AuthResult<String> {
        let claims = serde_json::to_vec(claims).map_err(AuthError::internal)?;
        let mut token = String::with_capacity(self.header.len() + claims.len() * 4 / 3 + 92);
        token.push_str(&self.header);
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(claims, &mut token);
        let signature = self.key.sign(token.as_bytes());
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(signature.to_bytes(), &mut token);
        Ok(token)
    }
}

/// The in-memory keys of one auth process.
pub struct KeyStore {
    active: RwLock<Option<Arc<ActiveKey>>>,
    verifier: Arc<TokenVerifier>,
    keyring: Keyring,
}

/// A usable signing key does not open with the configured master keys: auth refuses to start
/// (the message names the kid and the key ids, never key bytes).
#[derive(Debug, thiserror::Error)]
#[error("signing key {kid}: {source}")]
pub struct UnusableKey {
    pub kid: String,
    #[source]
    pub source: SealError,
}

/// A freshly generated key: (kid, sealed PKCS#8 DER private key, raw public key).
fn generate(keyring: &Keyring) -> anyhow::Result<(String, Vec<u8>, Vec<u8>)> {
    let key = SigningKey::generate(&mut rand::rngs::OsRng);
    let der = key.to_pkcs8_der().map_err(|e| anyhow::anyhow!("encoding the signing key: {e}"))?;
    let kid = format!("k{}", Uuid::now_v7().simple());
    let sealed = keyring.seal(&SIGNING_KEYS.aad(&kid), der.as_bytes())?;
    Ok((kid, sealed, key.verifying_key().to_bytes().to_vec()))
}

impl KeyStore {
    pub fn new(verifier: Arc<TokenVerifier>, keyring: Keyring) -> Self {
        Self { active: RwLock::new(None), verifier, keyring }
    }

    /// Under the advisory lock: seals plaintext rows (stored before sealing existed) with the
    /// current master key, and creates the first key if there is none.
    pub async fn ensure_key(&self, conn: &mut AsyncPgConnection) -> anyhow::Result<()> {
        let keyring = &self.keyring;
        conn.transaction::<_, anyhow::Error, _>(async |conn| {
            repo::lock(conn).await?;
            let sealed = reseal_batch(conn, keyring, &SIGNING_KEYS, MAGIC, i64::MAX).await?;
            if sealed > 0 {
                tracing::info!(
                    keys = sealed,
                    key_id = %keyring.current_id(),
                    "sealed plaintext signing keys with the master key"
                );
            }
            if repo::count_active(conn).await? == 0 {
                let (kid, private, public) = generate(keyring)?;
                repo::insert(conn, &kid, &private, &public).await?;
                tracing::info!(%kid, "created the first signing key");
            }
            Ok(())
        })
        .await
    }

    /// Reads the usable keys into the signer and the verifier; fails with [`UnusableKey`] (and
    /// changes nothing) when one does not open.
    pub async fn reload(&self, conn: &mut AsyncPgConnection) -> anyhow::Result<()> {
        let rows = repo::list_usable(conn).await?;
        let mut active = None;
        for r in &rows {
            let der = self
                .keyring
                .open(&SIGNING_KEYS.aad(&r.kid), &r.private_key)
                .map_err(|source| UnusableKey { kid: r.kid.clone(), source })?;
            if active.is_none() && r.retired_at.is_none() {
                let key = ActiveKey::new(&r.kid, &der)
                    .map_err(|e| anyhow::anyhow!("signing key {}: {e}", r.kid))?;
                active = Some(Arc::new(key));
            }
        }
        self.verifier.set_keys(
            rows.iter().map(|r| (r.kid.clone(), r.public_key.clone(), r.verify_until.map(|t| t.timestamp()))),
        );
        if let Ok(mut slot) = self.active.write() {
            *slot = active;
        }
        Ok(())
    }

    /// [`Self::ensure_key`] then [`Self::reload`] on a pooled connection.
    pub async fn ensure_and_reload(&self, pool: &PgPool) -> anyhow::Result<()> {
        let mut conn = pool.get().await?;
        self.ensure_key(&mut conn).await?;
        self.reload(&mut conn).await
    }

    /// Signs access-token claims with the active key.
    pub async fn sign(&self, pool: &PgPool, claims: &AccessClaims) -> AuthResult<String> {
        let mut active = self.active.read().ok().and_then(|a| a.clone());
        if active.is_none() {
            // Keys could not be loaded at start (database down): try once more now.
            self.ensure_and_reload(pool).await.map_err(|e| {
                if e.is::<UnusableKey>() {
                    return AuthError::internal(format!("{e:#}"));
                }
                AuthError::Api(operant_platform::error::ApiError::database_unavailable(format!(
                    "signing keys unavailable: {e:#}"
                )))
            })?;
            active = self.active.read().ok().and_then(|a| a.clone());
        }
        let active = active.ok_or_else(|| AuthError::internal("no active signing key"))?;
        active.sign(claims)
    }

    /// Keeps the keys fresh: every 60 s, when the verifier asks (unknown `kid`) and when
    /// [`Self::wake`] is called (rotation announced); also purges expired revocations.
    pub fn spawn_refresher(
        self: &Arc<Self>,
        pool: PgPool,
        wake: Arc<tokio::sync::Notify>,
        shutdown: Shutdown,
    ) {
        let store = self.clone();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(60)) => {}
                    _ = store.verifier.refresh_requested() => {}
                    _ = wake.notified() => {}
                    _ = shutdown.wait() => return,
                }
                if let Err(e) = store.ensure_and_reload(&pool).await {
                    tracing::warn!(error = %format!("{e:#}"), "could not reload signing keys");
                }
                store.verifier.revocations().purge(Utc::now().timestamp());
            }
        });
    }
}

/// Adds a new signing key and retires the active one (see the module docs). Returns the new kid.
pub async fn rotate_signing_key(settings: &Settings) -> anyhow::Result<String> {
    let keyring = settings.keyring()?;
    let mut conn = AsyncPgConnection::establish(settings.database_url(ServiceDatabase::Auth)?).await?;
    let verify_until = Utc::now()
        + chrono::Duration::from_std(settings.tokens.access_ttl + RETIRE_MARGIN)
            .map_err(|e| anyhow::anyhow!("access TTL out of range: {e}"))?;
    let kid = conn
        .transaction::<_, anyhow::Error, _>(async |conn| {
            repo::lock(conn).await?;
            let (kid, private, public) = generate(&keyring)?;
            repo::retire_active(conn, verify_until).await?;
            repo::insert(conn, &kid, &private, &public).await?;
            repo::notify_rotated(conn, &kid).await?;
            Ok(kid)
        })
        .await?;
    tracing::info!(%kid, "rotated the signing key");
    Ok(kid)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn tokens_are_byte_for_byte_those_of_jsonwebtoken_and_verify() {
        let key = SigningKey::generate(&mut rand::rngs::OsRng);
        let der = key.to_pkcs8_der().unwrap();
        let active = ActiveKey::new("k1", der.as_bytes()).unwrap();
        let verifier = TokenVerifier::new("operant", "operant-api");
        verifier.set_keys([("k1".to_owned(), key.verifying_key().to_bytes().to_vec(), None)]);
        for n in 0..20 {
            let now = Utc::now().timestamp();
            let claims = AccessClaims {
                sub: Uuid::new_v4().to_string(),
                sid: Uuid::new_v4().to_string(),
                jti: format!("jti-{n}-\u{e9}\"quoted\""),
                iat: now,
                exp: now + 900 + n,
                iss: "operant".into(),
                aud: "operant-api".into(),
                typ: "access".into(),
            };
            let mut header = Header::new(Algorithm::EdDSA);
            header.kid = Some("k1".into());
            let expected = jsonwebtoken::encode(
                &header,
                &claims,
                &jsonwebtoken::EncodingKey::from_ed_der(der.as_bytes()),
            )
            .unwrap();
            let token = active.sign(&claims).unwrap();
            assert_eq!(token, expected);
            assert!(verifier.verify_now(&token).is_ok(), "{:?}", verifier.verify_now(&token));
        }
    }

    #[test]
    fn a_key_that_is_not_ed25519_pkcs8_is_refused() {
        assert!(ActiveKey::new("k1", b"not a key").is_err());
    }
}
