//! Where the master keys come from: `OPERANT_MASTER_KEY` or `OPERANT_MASTER_KEY_FILE` (the
//! current key), `OPERANT_MASTER_KEY_PREVIOUS` or `OPERANT_MASTER_KEY_PREVIOUS_FILE` (during a
//! rotation), and in development a generated `<OPERANT_DATA_DIR>/master.key`.

use std::path::{Path, PathBuf};

use crate::Keyring;
use crate::key::{KeyError, MasterKey};

/// The documented error of a production start without a master key.
pub const MISSING_MASTER_KEY: &str = "production needs a master key: set OPERANT_MASTER_KEY to the \
     base64 of 32 random bytes (generate one with `openssl rand -base64 32`) or \
     OPERANT_MASTER_KEY_FILE to a file holding it (a mounted secret)";

/// The master-key settings of a process.
#[derive(Debug, Clone)]
pub struct MasterKeyConfig {
    /// `OPERANT_MASTER_KEY` / `OPERANT_MASTER_KEY_FILE`: seals, and opens what it sealed.
    pub current: Option<MasterKey>,
    /// `OPERANT_MASTER_KEY_PREVIOUS` / `_FILE`: only opens (values not yet re-sealed).
    pub previous: Option<MasterKey>,
    /// Outside production, without a current key: `<OPERANT_DATA_DIR>/master.key`, generated on
    /// first use.
    pub dev_key_file: PathBuf,
}

/// Reads `name` or `name_FILE` (not both) through `lookup` (a variable's trimmed, non-empty
/// value).
fn one_key(lookup: &impl Fn(&str) -> Option<String>, name: &str) -> Result<Option<MasterKey>, KeyError> {
    let file_name = format!("{name}_FILE");
    match (lookup(name), lookup(&file_name)) {
        (Some(_), Some(_)) => Err(KeyError::Both(name.to_owned())),
        (Some(text), None) => MasterKey::from_base64(&text, name).map(Some),
        (None, Some(path)) => MasterKey::read_file(Path::new(&path), &file_name).map(Some),
        (None, None) => Ok(None),
    }
}

impl MasterKeyConfig {
    /// Reads the variables through `lookup` (so tests need not touch the process environment).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, KeyError> {
        let data_dir = lookup("OPERANT_DATA_DIR").unwrap_or_else(|| ".operant".to_owned());
        Ok(Self {
            current: one_key(&lookup, "OPERANT_MASTER_KEY")?,
            previous: one_key(&lookup, "OPERANT_MASTER_KEY_PREVIOUS")?,
            dev_key_file: Path::new(&data_dir).join("master.key"),
        })
    }

    /// A random key (tests: each gets its own).
    pub fn random() -> Self {
        Self { current: Some(MasterKey::generate()), previous: None, dev_key_file: PathBuf::new() }
    }

    /// The keyring to seal and open with. Without a current key, production fails with
    /// [`MISSING_MASTER_KEY`]; elsewhere the development key file is read, or created (its path
    /// and key id are logged, never the key).
    pub fn keyring(&self, production: bool) -> Result<Keyring, KeyError> {
        if let Some(current) = &self.current {
            return Ok(Keyring::new(current.clone(), self.previous.clone()));
        }
        if production {
            return Err(KeyError::Missing);
        }
        let path = &self.dev_key_file;
        let (key, created) = MasterKey::load_or_create(path)?;
        let shown = path.display().to_string();
        if created {
            tracing::warn!(
                path = %shown,
                key_id = %key.id(),
                "generated a development master key (production needs OPERANT_MASTER_KEY)"
            );
        } else {
            tracing::info!(path = %shown, key_id = %key.id(), "using the development master key");
        }
        Ok(Keyring::new(key, self.previous.clone()))
    }
}
