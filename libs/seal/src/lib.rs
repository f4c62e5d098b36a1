//! Secrets at rest. This crate alone handles master-key bytes: services hand it a plaintext and
//! the row it will be stored in, and get back a sealed value (or the reverse).
//!
//! - [`MasterKey`] / [`KeyId`] (`key`): the 32-byte key and its public, loggable id.
//! - [`Keyring`]: the current key (seals) and, during a rotation, the previous one (opens).
//! - [`MasterKeyConfig`] (`config`): `OPERANT_MASTER_KEY[_FILE]`, `OPERANT_MASTER_KEY_PREVIOUS
//!   [_FILE]` and the development key file.
//!
//! Sealed format (AES-256-GCM):
//!
//! ```text
//! "OPSL" | version 1 | key id (8 bytes) | nonce (12 random bytes) | ciphertext | tag (16 bytes)
//! ```
//!
//! The associated data is the header (magic, version, key id) followed by the length-prefixed
//! table, column and row id of the stored value ([`Aad`]), so a sealed value copied to another
//! row, column or table does not open, and neither does one whose key id was rewritten.

mod config;
mod key;

use ring::aead::{AES_256_GCM, Aad as RingAad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};
use zeroize::Zeroizing;

pub use config::{MISSING_MASTER_KEY, MasterKeyConfig};
pub use key::{GENERATE_HINT, KEY_LEN, KeyError, KeyId, MasterKey};

/// The first bytes of every sealed value.
pub const MAGIC: &[u8; 4] = b"OPSL";
const VERSION: u8 = 1;
/// Magic, version and key id: what [`sealed_key_id`] reads and the AAD begins with.
const HEADER_LEN: usize = MAGIC.len() + 1 + 8;
const TAG_LEN: usize = 16;

/// Where a sealed value is stored; bound into the AEAD so the value opens only there.
#[derive(Debug, Clone, Copy)]
pub struct Aad<'a> {
    pub table: &'a str,
    pub column: &'a str,
    /// The row's primary key, as text.
    pub row: &'a str,
}

impl Aad<'_> {
    fn encode(&self, header: &[u8]) -> Vec<u8> {
        let mut out = header.to_vec();
        for part in [self.table, self.column, self.row] {
            out.extend_from_slice(&(part.len() as u64).to_be_bytes());
            out.extend_from_slice(part.as_bytes());
        }
        out
    }
}

/// Why a value could not be sealed or opened. Messages name key ids, never key bytes or values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    #[error("the value is not sealed (it does not start with the Operant seal header)")]
    NotSealed,
    #[error("the value is sealed in format version {0}, which this version of Operant cannot open")]
    UnsupportedVersion(u8),
    #[error(
        "sealed with master key {sealed_with}, which is not configured (OPERANT_MASTER_KEY is {current}, \
         OPERANT_MASTER_KEY_PREVIOUS is {})",
        previous.map_or_else(|| "not set".to_owned(), |id| id.to_string())
    )]
    UnknownKey { sealed_with: KeyId, current: KeyId, previous: Option<KeyId> },
    #[error("the value sealed with master key {0} does not open: it was altered or belongs to another row")]
    Rejected(KeyId),
    #[error("sealing failed")]
    SealFailed,
}

/// The key id a sealed value names, or `None` when `blob` is not a sealed value.
pub fn sealed_key_id(blob: &[u8]) -> Option<KeyId> {
    if !is_sealed(blob) {
        return None;
    }
    let mut id = [0u8; 8];
    id.copy_from_slice(&blob[MAGIC.len() + 1..HEADER_LEN]);
    Some(KeyId(id))
}

/// Whether `blob` has the sealed format's header and room for a nonce and a tag (a PKCS#8 DER
/// key, which starts with `0x30`, never does).
pub fn is_sealed(blob: &[u8]) -> bool {
    blob.len() >= HEADER_LEN + NONCE_LEN + TAG_LEN && blob.starts_with(MAGIC)
}

/// The first bytes of every value sealed with `key` (magic, version, key id): a prefix to find,
/// in SQL, the values that still need re-sealing.
pub fn sealed_prefix(key: KeyId) -> Vec<u8> {
    let mut header = Vec::with_capacity(HEADER_LEN);
    header.extend_from_slice(MAGIC);
    header.push(VERSION);
    header.extend_from_slice(&key.0);
    header
}

fn aead_key(key: &MasterKey) -> Result<LessSafeKey, SealError> {
    UnboundKey::new(&AES_256_GCM, key.bytes()).map(LessSafeKey::new).map_err(|_| SealError::SealFailed)
}

/// The current master key and, during a rotation, the previous one.
#[derive(Debug, Clone)]
pub struct Keyring {
    current: MasterKey,
    previous: Option<MasterKey>,
}

impl Keyring {
    pub fn new(current: MasterKey, previous: Option<MasterKey>) -> Self {
        Self { current, previous }
    }

    pub fn current_id(&self) -> KeyId {
        self.current.id()
    }

    pub fn previous_id(&self) -> Option<KeyId> {
        self.previous.as_ref().map(MasterKey::id)
    }

    /// Whether `blob` is sealed with the current key (nothing to re-seal).
    pub fn is_current(&self, blob: &[u8]) -> bool {
        sealed_key_id(blob) == Some(self.current_id())
    }

    /// Seals `plaintext` with the current key for the place `aad` names.
    pub fn seal(&self, aad: &Aad<'_>, plaintext: &[u8]) -> Result<Vec<u8>, SealError> {
        let header = sealed_prefix(self.current_id());
        let mut nonce = [0u8; NONCE_LEN];
        SystemRandom::new().fill(&mut nonce).map_err(|_| SealError::SealFailed)?;
        let mut out = Vec::with_capacity(HEADER_LEN + NONCE_LEN + plaintext.len() + TAG_LEN);
        out.extend_from_slice(&header);
        out.extend_from_slice(&nonce);
        let mut body = plaintext.to_vec();
        aead_key(&self.current)?
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                RingAad::from(aad.encode(&header)),
                &mut body,
            )
            .map_err(|_| SealError::SealFailed)?;
        out.extend_from_slice(&body);
        Ok(out)
    }

    /// Opens a value sealed for the place `aad` names, with the key the value names (current or
    /// previous).
    pub fn open(&self, aad: &Aad<'_>, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, SealError> {
        let Some(id) = sealed_key_id(sealed) else {
            return Err(SealError::NotSealed);
        };
        if sealed[MAGIC.len()] != VERSION {
            return Err(SealError::UnsupportedVersion(sealed[MAGIC.len()]));
        }
        let key = [Some(&self.current), self.previous.as_ref()]
            .into_iter()
            .flatten()
            .find(|k| k.id() == id)
            .ok_or(SealError::UnknownKey {
                sealed_with: id,
                current: self.current_id(),
                previous: self.previous_id(),
            })?;
        let (header, rest) = sealed.split_at(HEADER_LEN);
        let (nonce, body) = rest.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| SealError::Rejected(id))?;
        let mut body = Zeroizing::new(body.to_vec());
        let len = aead_key(key)?
            .open_in_place(nonce, RingAad::from(aad.encode(header)), &mut body)
            .map_err(|_| SealError::Rejected(id))?
            .len();
        body.truncate(len);
        Ok(body)
    }
}

#[cfg(test)]
mod tests;
