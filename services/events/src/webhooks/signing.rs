//! Webhook secrets and Standard Webhooks signatures.
//!
//! A secret is a random 32-byte key, shown once as `whsec_` + standard base64 and stored sealed
//! with the master key ([`operant_seal`], bound to the endpoint's row and column). A delivery is
//! signed `v1,<base64 HMAC-SHA256(key, "{id}.{timestamp}.{body}")>`; during a rotation's
//! overlap the `webhook-signature` header lists the current key's signature and the previous
//! one's, space-separated.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use operant_platform::sealed::SealedColumn;
use operant_seal::{Keyring, SealError};
use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};
use subtle::ConstantTimeEq;
use uuid::Uuid;
use zeroize::Zeroizing;

/// Bytes of a signing key.
pub const KEY_LEN: usize = 32;
/// What a shown secret starts with.
pub const SECRET_PREFIX: &str = "whsec_";

/// `webhook_endpoints.secret`: the current signing key.
pub const SECRET_COLUMN: SealedColumn =
    SealedColumn { table: "webhook_endpoints", column: "secret", key: "id", key_type: "uuid" };
/// `webhook_endpoints.previous_secret`: the key before the last rotation, while it still signs.
pub const PREVIOUS_SECRET_COLUMN: SealedColumn =
    SealedColumn { table: "webhook_endpoints", column: "previous_secret", key: "id", key_type: "uuid" };

/// A signing key (zeroed on drop; no `Debug`).
pub struct SigningKey(Zeroizing<Vec<u8>>);

impl SigningKey {
    /// A fresh random key.
    pub fn generate() -> Result<Self, SealError> {
        let mut key = Zeroizing::new(vec![0u8; KEY_LEN]);
        SystemRandom::new().fill(&mut key[..]).map_err(|_| SealError::SealFailed)?;
        Ok(Self(key))
    }

    /// The key as shown to the customer once: `whsec_` + base64.
    pub fn shown(&self) -> String {
        format!("{SECRET_PREFIX}{}", STANDARD.encode(&*self.0))
    }

    /// The key parsed from its shown form (receivers' side; tests).
    pub fn from_shown(secret: &str) -> Option<Self> {
        let raw = STANDARD.decode(secret.strip_prefix(SECRET_PREFIX)?).ok()?;
        Some(Self(Zeroizing::new(raw)))
    }

    /// Sealed for `column` of the endpoint `id`.
    pub fn seal(&self, keyring: &Keyring, column: &SealedColumn, id: Uuid) -> Result<Vec<u8>, SealError> {
        keyring.seal(&column.aad(&id.to_string()), &self.0)
    }

    /// Opened from `column` of the endpoint `id`.
    pub fn open(
        keyring: &Keyring,
        column: &SealedColumn,
        id: Uuid,
        sealed: &[u8],
    ) -> Result<Self, SealError> {
        keyring.open(&column.aad(&id.to_string()), sealed).map(Self)
    }

    /// `v1,<base64 HMAC-SHA256(key, "{msg_id}.{timestamp}.{body}")>`.
    pub fn sign(&self, msg_id: &str, timestamp: i64, body: &[u8]) -> String {
        let key = hmac::Key::new(hmac::HMAC_SHA256, &self.0);
        let mut context = hmac::Context::with_key(&key);
        context.update(msg_id.as_bytes());
        context.update(b".");
        context.update(timestamp.to_string().as_bytes());
        context.update(b".");
        context.update(body);
        format!("v1,{}", STANDARD.encode(context.sign().as_ref()))
    }

    /// Whether one of the space-separated signatures of `header` is this key's for the message
    /// (constant-time comparison of each).
    pub fn verify(&self, msg_id: &str, timestamp: i64, body: &[u8], header: &str) -> bool {
        let expected = self.sign(msg_id, timestamp, body);
        header.split(' ').any(|sig| bool::from(sig.as_bytes().ct_eq(expected.as_bytes())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shown_secret_round_trips_and_signs_as_the_specification_says() {
        let key = SigningKey::generate().expect("key");
        let shown = key.shown();
        assert!(shown.starts_with("whsec_"));
        assert_eq!(STANDARD.decode(&shown[6..]).expect("base64").len(), 32);
        let again = SigningKey::from_shown(&shown).expect("parse");
        let sig = key.sign("msg_1", 1_700_000_000, b"{}");
        assert!(sig.starts_with("v1,"));
        assert!(again.verify("msg_1", 1_700_000_000, b"{}", &format!("v1,AAAA {sig}")));
        assert!(!again.verify("msg_1", 1_700_000_001, b"{}", &sig));
        assert!(!SigningKey::generate().expect("key").verify("msg_1", 1_700_000_000, b"{}", &sig));
    }

    /// The test vector of the Standard Webhooks specification.
    #[test]
    fn the_standard_webhooks_test_vector() {
        let key = SigningKey::from_shown("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").expect("secret");
        let body = br#"{"test": 2432232314}"#;
        assert_eq!(
            key.sign("msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }
}
