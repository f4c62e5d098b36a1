//! [`MasterKey`]: the 32 key bytes (zeroized on drop, never printed) and its public [`KeyId`].

use std::fmt;
use std::io::Write;
use std::path::Path;

use base64::Engine;
use base64::alphabet::STANDARD;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use ring::rand::{SecureRandom, SystemRandom};
use zeroize::Zeroizing;

/// Length of a master key in bytes (AES-256).
pub const KEY_LEN: usize = 32;

/// How to make a key, quoted by the errors about a malformed one.
pub const GENERATE_HINT: &str = "generate one with `openssl rand -base64 32`";

/// Standard base64, padding optional (`openssl rand -base64 32` pads, other tools do not).
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// A key could not be read. The messages name where the key came from, never its bytes.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("{what}: expected the base64 of {KEY_LEN} random bytes ({GENERATE_HINT}): {detail}")]
    Malformed { what: String, detail: String },
    #[error("{what}: {source}")]
    Io { what: String, source: std::io::Error },
    #[error("set {0} or {0}_FILE, not both")]
    Both(String),
    #[error("{}", crate::MISSING_MASTER_KEY)]
    Missing,
}

/// The public name of a master key: the first 8 bytes of a SHA-256 over the key (domain
/// separated), shown as 16 hex digits. Safe to log and stored in every sealed value; it reveals
/// nothing usable about the key (a 256-bit random key cannot be found from its hash).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyId(pub(crate) [u8; 8]);

impl KeyId {
    pub(crate) fn of(bytes: &[u8; KEY_LEN]) -> Self {
        let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
        ctx.update(b"operant-seal key id v1\0");
        ctx.update(bytes);
        let digest = ctx.finish();
        let mut id = [0u8; 8];
        id.copy_from_slice(&digest.as_ref()[..8]);
        KeyId(id)
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({self})")
    }
}

/// A 256-bit master key. `Debug` and `Display` show only its [`KeyId`].
#[derive(Clone)]
pub struct MasterKey {
    bytes: Zeroizing<[u8; KEY_LEN]>,
    id: KeyId,
}

impl MasterKey {
    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> Self {
        let bytes = Zeroizing::new(bytes);
        let id = KeyId::of(&bytes);
        Self { bytes, id }
    }

    /// A fresh random key from the OS generator.
    pub fn generate() -> Self {
        let mut bytes = Zeroizing::new([0u8; KEY_LEN]);
        // The OS generator failing is not recoverable (and does not happen on Linux).
        #[allow(clippy::expect_used)]
        SystemRandom::new().fill(bytes.as_mut()).expect("the OS random generator failed");
        let id = KeyId::of(&bytes);
        Self { bytes, id }
    }

    /// Parses the base64 of 32 bytes (surrounding whitespace ignored); `what` names the source
    /// in the error (a variable or a file), the text itself is never quoted.
    pub fn from_base64(text: &str, what: &str) -> Result<Self, KeyError> {
        let decoded = Zeroizing::new(BASE64.decode(text.trim()).map_err(|_| KeyError::Malformed {
            what: what.to_owned(),
            detail: "not valid base64".to_owned(),
        })?);
        let bytes: [u8; KEY_LEN] = decoded.as_slice().try_into().map_err(|_| KeyError::Malformed {
            what: what.to_owned(),
            detail: format!("it decodes to {} bytes", decoded.len()),
        })?;
        Ok(Self::from_bytes(bytes))
    }

    /// The key as base64 (to write the development key file, or a test's environment).
    pub fn to_base64(&self) -> Zeroizing<String> {
        Zeroizing::new(BASE64.encode(self.bytes.as_ref()))
    }

    /// Reads a file holding the base64 of the key (a mounted secret).
    pub fn read_file(path: &Path, what: &str) -> Result<Self, KeyError> {
        let what = format!("{what} {}", path.display());
        let text = Zeroizing::new(
            std::fs::read_to_string(path).map_err(|source| KeyError::Io { what: what.clone(), source })?,
        );
        Self::from_base64(&text, &what)
    }

    /// The development key at `path`: read if it exists, else generated and written with mode
    /// 0600 (`true` when it was created now). Two processes starting together agree on one key:
    /// the key is written to a private temporary file first and hard-linked into place, which
    /// fails if the file already exists (then the other process's key is read), so nobody ever
    /// reads a half-written file.
    pub fn load_or_create(path: &Path) -> Result<(Self, bool), KeyError> {
        let what = format!("development master key {}", path.display());
        let io = |source| KeyError::Io { what: what.clone(), source };
        if path.exists() {
            return Ok((Self::read_file(path, "development master key")?, false));
        }
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let key = Self::generate();
        let mut temp = path.as_os_str().to_owned();
        // Unique per call, not only per process: `operant dev` runs auth and tenancy in one
        // process, and both load the key at start-up.
        static CALLS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let call = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        temp.push(format!(".{}.{call}.tmp", std::process::id()));
        let temp = std::path::PathBuf::from(temp);
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let written = options.open(&temp).and_then(|mut file| {
            let mut text = key.to_base64();
            text.push('\n');
            file.write_all(text.as_bytes())?;
            file.sync_all()
        });
        let linked = written.and_then(|()| std::fs::hard_link(&temp, path));
        let _ = std::fs::remove_file(&temp);
        match linked {
            Ok(()) => Ok((key, true)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                Ok((Self::read_file(path, "development master key")?, false))
            }
            Err(e) => Err(io(e)),
        }
    }

    pub fn id(&self) -> KeyId {
        self.id
    }

    pub(crate) fn bytes(&self) -> &[u8; KEY_LEN] {
        &self.bytes
    }
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MasterKey({})", self.id)
    }
}

impl fmt::Display for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "master key {}", self.id)
    }
}
