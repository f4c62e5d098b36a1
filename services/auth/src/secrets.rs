//! Random opaque tokens and their stored form.
//!
//! Refresh tokens and one-time tokens are 256 random bits from the OS generator, base64url
//! encoded; only their SHA-256 is stored, so a database leak does not leak usable tokens
//! (a fast hash is enough for 256-bit random secrets: there is nothing to brute-force).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use operant_platform::tokens::REFRESH_TOKEN_PREFIX;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// 32 random bytes, base64url (43 characters).
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A new refresh token: [`REFRESH_TOKEN_PREFIX`] + 256 random bits.
pub fn new_refresh_token() -> String {
    format!("{REFRESH_TOKEN_PREFIX}{}", random_token())
}

/// Whether `token` looks like a refresh token (cheap check before touching the database).
pub fn is_refresh_token_shaped(token: &str) -> bool {
    token.strip_prefix(REFRESH_TOKEN_PREFIX).is_some_and(|rest| {
        rest.len() == 43 && rest.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    })
}

/// The stored form of a token.
pub fn hash_token(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refresh_tokens_have_the_prefix_and_256_bits() {
        let t = new_refresh_token();
        assert!(is_refresh_token_shaped(&t), "{t}");
        assert_ne!(t, new_refresh_token());
        assert!(!is_refresh_token_shaped("ort_short"));
        assert_eq!(hash_token(&t).len(), 32);
    }
}
