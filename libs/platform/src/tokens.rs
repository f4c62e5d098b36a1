//! Access-token verification, done locally by every service.
//!
//! Access tokens are Ed25519 (EdDSA) JWTs signed by the auth service. A [`TokenVerifier`] holds
//! the public keys (by `kid`), a cache of tokens already verified, and a [`RevocationSet`] of
//! sessions whose tokens must be refused before they expire (logout, password change, theft
//! detection). Outside the auth service both are kept fresh by
//! [`keysync::spawn_sync`](crate::keysync::spawn_sync); a token naming an unknown `kid` asks it
//! for a refresh ([`TokenVerifier::refresh_requested`]).
//!
//! Every way a token can be wrong has its own `error_code` (all 401).

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{ApiError, ErrorCode};
use crate::revocations::RevocationSet;

mod cache;

use cache::VerifiedCache;

/// Prefix of opaque refresh tokens, so that one presented as an access token is recognised.
pub const REFRESH_TOKEN_PREFIX: &str = "ort_";

/// Claims of an access token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccessClaims {
    /// User id.
    pub sub: String,
    /// Session id.
    pub sid: String,
    /// Token id.
    pub jti: String,
    pub iat: i64,
    pub exp: i64,
    pub iss: String,
    pub aud: String,
    /// Always `access`.
    pub typ: String,
}

/// The verified caller of an access token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserPrincipal {
    pub user_id: Uuid,
    pub session_id: Uuid,
    /// Expiry of the token (unix seconds).
    pub expires_at: i64,
}

#[derive(Deserialize)]
struct Header {
    alg: Option<String>,
    kid: Option<String>,
}

struct KeyEntry {
    key: DecodingKey,
    /// Tokens are no longer accepted from this key after this time (unix seconds).
    verify_until: Option<i64>,
}

/// Verifies access tokens against a set of Ed25519 public keys and a revocation set.
pub struct TokenVerifier {
    keys: RwLock<HashMap<String, Arc<KeyEntry>>>,
    revoked: RevocationSet,
    validation: Validation,
    /// When the keys were last replaced, to rate-limit refreshes on unknown `kid`s.
    refreshed_at: RwLock<Option<Instant>>,
    refresh: tokio::sync::Notify,
    refreshed: tokio::sync::watch::Sender<u64>,
    verified: VerifiedCache,
}

fn expired() -> ApiError {
    ApiError::new(ErrorCode::TokenExpired, "the access token has expired")
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

impl TokenVerifier {
    pub fn new(issuer: &str, audience: &str) -> Self {
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[audience]);
        validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
        validation.leeway = 5;
        Self {
            keys: RwLock::new(HashMap::new()),
            revoked: RevocationSet::default(),
            validation,
            refreshed_at: RwLock::new(None),
            refresh: tokio::sync::Notify::new(),
            refreshed: tokio::sync::watch::channel(0).0,
            verified: VerifiedCache::default(),
        }
    }

    /// Replaces the verification keys: `(kid, raw 32-byte public key, verify_until)`.
    pub fn set_keys(&self, keys: impl IntoIterator<Item = (String, Vec<u8>, Option<i64>)>) {
        let map = keys
            .into_iter()
            .map(|(kid, public, verify_until)| {
                let key = DecodingKey::from_ed_components(&URL_SAFE_NO_PAD.encode(public))
                    .expect("an Ed25519 public key in base64url is always accepted");
                (kid, Arc::new(KeyEntry { key, verify_until }))
            })
            .collect();
        if let Ok(mut k) = self.keys.write() {
            *k = map;
        }
        self.verified.clear();
        if let Ok(mut at) = self.refreshed_at.write() {
            *at = Some(Instant::now());
        }
        self.refreshed.send_modify(|n| *n += 1);
    }

    pub fn revocations(&self) -> &RevocationSet {
        &self.revoked
    }

    fn key(&self, kid: &str) -> Option<Arc<KeyEntry>> {
        self.keys.read().ok().and_then(|k| k.get(kid).cloned())
    }

    /// Waits (at most `wait`) for a key refresh triggered by an unknown `kid`; refreshes are
    /// asked at most once a second.
    async fn refresh_keys(&self, wait: Duration) {
        let recent = self
            .refreshed_at
            .read()
            .ok()
            .and_then(|at| *at)
            .is_some_and(|at| at.elapsed() < Duration::from_secs(1));
        if recent {
            return;
        }
        let mut changed = self.refreshed.subscribe();
        self.refresh.notify_one();
        let _ = tokio::time::timeout(wait, changed.changed()).await;
    }

    /// Resolves when someone asks for a key refresh (used by the sync task).
    pub async fn refresh_requested(&self) {
        self.refresh.notified().await;
    }

    /// Verifies an access token, refreshing keys once on an unknown `kid`.
    pub async fn verify(&self, token: &str) -> Result<UserPrincipal, ApiError> {
        match self.verify_now(token) {
            Err(e) if e.error_code == ErrorCode::TokenUnknownKey => {
                self.refresh_keys(Duration::from_secs(2)).await;
                self.verify_now(token)
            }
            other => other,
        }
    }

    /// Verifies with the keys at hand.
    pub fn verify_now(&self, token: &str) -> Result<UserPrincipal, ApiError> {
        let now = unix_now();
        let leeway = self.validation.leeway as i64;
        let principal = match self.verified.get(token) {
            // The same check `jsonwebtoken` makes on `exp`, with the leeway.
            Some(principal) if principal.expires_at + leeway < now => return Err(expired()),
            Some(principal) => principal,
            None => {
                let principal = self.verify_signed(token)?;
                self.verified.insert(token, &principal, now, leeway);
                principal
            }
        };
        if self.revoked.is_revoked(&principal.session_id) {
            return Err(ApiError::new(ErrorCode::TokenRevoked, "the session of this access token has ended"));
        }
        Ok(principal)
    }

    /// The full check: signature, claims and key retirement (revocation is checked by the caller,
    /// on every use).
    fn verify_signed(&self, token: &str) -> Result<UserPrincipal, ApiError> {
        if token.starts_with(REFRESH_TOKEN_PREFIX) {
            return Err(ApiError::new(
                ErrorCode::TokenWrongType,
                "a refresh token cannot be used as an access token",
            ));
        }
        let malformed =
            || ApiError::new(ErrorCode::TokenMalformed, "the access token is not a well-formed JWT");
        let mut parts = token.split('.');
        let (Some(header), Some(_), Some(_), None) = (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(malformed());
        };
        let header: Header = URL_SAFE_NO_PAD
            .decode(header)
            .ok()
            .and_then(|raw| serde_json::from_slice(&raw).ok())
            .ok_or_else(malformed)?;
        if header.alg.as_deref() != Some("EdDSA") {
            return Err(ApiError::new(
                ErrorCode::TokenAlgorithmNotAllowed,
                "access tokens must be signed with EdDSA",
            ));
        }
        let kid = header.kid.ok_or_else(|| {
            ApiError::new(ErrorCode::TokenUnknownKey, "the access token names no signing key")
        })?;
        let entry = self.key(&kid).ok_or_else(|| {
            ApiError::new(ErrorCode::TokenUnknownKey, "the access token was signed by an unknown key")
        })?;
        let data =
            jsonwebtoken::decode::<AccessClaims>(token, &entry.key, &self.validation).map_err(|e| match e
                .kind()
            {
                ErrorKind::ExpiredSignature => expired(),
                ErrorKind::InvalidAudience => {
                    ApiError::new(ErrorCode::TokenWrongAudience, "the access token is for another audience")
                }
                ErrorKind::InvalidIssuer => {
                    ApiError::new(ErrorCode::TokenWrongIssuer, "the access token comes from another issuer")
                }
                ErrorKind::InvalidSignature => {
                    ApiError::new(ErrorCode::TokenSignatureInvalid, "the access token signature is invalid")
                }
                ErrorKind::InvalidAlgorithm => ApiError::new(
                    ErrorCode::TokenAlgorithmNotAllowed,
                    "access tokens must be signed with EdDSA",
                ),
                ErrorKind::ImmatureSignature => {
                    ApiError::new(ErrorCode::TokenNotYetValid, "the access token is not valid yet")
                }
                _ => malformed(),
            })?;
        let claims = data.claims;
        if claims.typ != "access" {
            return Err(ApiError::new(ErrorCode::TokenWrongType, "not an access token"));
        }
        if let Some(until) = entry.verify_until
            && claims.iat > until
        {
            return Err(ApiError::new(
                ErrorCode::TokenUnknownKey,
                "the signing key of the access token is retired",
            ));
        }
        let (Ok(user_id), Ok(session_id)) = (claims.sub.parse::<Uuid>(), claims.sid.parse::<Uuid>()) else {
            return Err(malformed());
        };
        Ok(UserPrincipal { user_id, session_id, expires_at: claims.exp })
    }
}

#[cfg(test)]
mod tests {
    use ed25519_dalek::SigningKey;
    use ed25519_dalek::pkcs8::EncodePrivateKey;
    use jsonwebtoken::{EncodingKey, Header as JwtHeader};

    use super::*;

    const ISSUER: &str = "operant-test";
    const AUDIENCE: &str = "operant-test-api";

    struct Key {
        kid: String,
        encoding: EncodingKey,
        public: Vec<u8>,
    }

    fn key(kid: &str) -> Key {
        let signing = SigningKey::generate(&mut rand::rngs::OsRng);
        let der = signing.to_pkcs8_der().expect("pkcs8");
        Key {
            kid: kid.to_owned(),
            encoding: EncodingKey::from_ed_der(der.as_bytes()),
            public: signing.verifying_key().to_bytes().to_vec(),
        }
    }

    fn sign(key: &Key, session_id: Uuid, exp: i64) -> String {
        let claims = AccessClaims {
            sub: Uuid::new_v4().to_string(),
            sid: session_id.to_string(),
            jti: Uuid::new_v4().to_string(),
            iat: unix_now(),
            exp,
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            typ: "access".into(),
        };
        let mut header = JwtHeader::new(Algorithm::EdDSA);
        header.kid = Some(key.kid.clone());
        jsonwebtoken::encode(&header, &claims, &key.encoding).expect("sign")
    }

    fn verifier(keys: &[&Key]) -> TokenVerifier {
        let verifier = TokenVerifier::new(ISSUER, AUDIENCE);
        verifier.set_keys(keys.iter().map(|k| (k.kid.clone(), k.public.clone(), None)));
        verifier
    }

    fn code(result: Result<UserPrincipal, ApiError>) -> &'static str {
        result.err().map(|e| e.error_code.as_str()).unwrap_or("OK")
    }

    #[test]
    fn a_cached_token_is_refused_once_its_session_is_revoked() {
        let k = key("k1");
        let v = verifier(&[&k]);
        let session = Uuid::new_v4();
        let token = sign(&k, session, unix_now() + 600);
        assert_eq!(code(v.verify_now(&token)), "OK");
        assert!(v.verified.get(&token).is_some(), "the verified token is cached");
        v.revocations().insert(session, unix_now() + 600);
        assert_eq!(code(v.verify_now(&token)), "TOKEN_REVOKED");
    }

    #[test]
    fn a_cached_token_is_refused_once_it_expires() {
        let k = key("k1");
        let v = verifier(&[&k]);
        let token = sign(&k, Uuid::new_v4(), unix_now() + 600);
        let mut principal = v.verify_now(&token).expect("valid");
        // The entry as it is when its expiry (plus the leeway) has passed.
        principal.expires_at = unix_now() - 6;
        v.verified.insert(&token, &principal, unix_now(), 5);
        assert_eq!(code(v.verify_now(&token)), "TOKEN_EXPIRED");
    }

    #[test]
    fn a_key_change_forgets_every_cached_token() {
        let (old, new) = (key("old"), key("new"));
        let v = verifier(&[&old]);
        let token = sign(&old, Uuid::new_v4(), unix_now() + 600);
        assert_eq!(code(v.verify_now(&token)), "OK");
        v.set_keys([(new.kid.clone(), new.public.clone(), None)]);
        assert!(v.verified.get(&token).is_none());
        assert_eq!(code(v.verify_now(&token)), "TOKEN_UNKNOWN_KEY");
    }

    #[test]
    fn only_the_exact_token_hits_the_cache() {
        let k = key("k1");
        let v = verifier(&[&k]);
        let token = sign(&k, Uuid::new_v4(), unix_now() + 600);
        assert_eq!(code(v.verify_now(&token)), "OK");
        // Same header and claims, another signature: verified again, and refused.
        let (signed, signature) = token.rsplit_once('.').expect("three parts");
        let flipped = if signature.starts_with('A') { 'B' } else { 'A' };
        let forged = format!("{signed}.{flipped}{}", &signature[1..]);
        assert_eq!(code(v.verify_now(&forged)), "TOKEN_SIGNATURE_INVALID");
        assert!(v.verified.get(&forged).is_none(), "failures are not cached");
    }
}
