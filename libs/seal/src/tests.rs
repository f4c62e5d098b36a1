#![allow(clippy::unwrap_used)]

use std::collections::HashMap;

use super::*;

const AAD: Aad<'static> = Aad { table: "signing_keys", column: "private_key", row: "k1" };

fn ring() -> Keyring {
    Keyring::new(MasterKey::generate(), None)
}

#[test]
fn round_trip_names_the_key_and_hides_the_plaintext() {
    let keys = ring();
    let secret = b"a private key, 48 bytes of PKCS#8 in real life";
    let sealed = keys.seal(&AAD, secret).unwrap();
    assert!(is_sealed(&sealed));
    assert_eq!(sealed_key_id(&sealed), Some(keys.current_id()));
    assert!(keys.is_current(&sealed));
    assert!(sealed.starts_with(&sealed_prefix(keys.current_id())));
    assert!(!sealed.windows(secret.len()).any(|w| w == secret));
    assert_eq!(keys.open(&AAD, &sealed).unwrap().as_slice(), secret);
    // A fresh nonce each time.
    assert_ne!(keys.seal(&AAD, secret).unwrap(), sealed);
    // The empty secret works too.
    assert!(keys.open(&AAD, &keys.seal(&AAD, b"").unwrap()).unwrap().is_empty());
}

#[test]
fn another_key_does_not_open_and_the_error_names_the_key_id() {
    let (a, b) = (ring(), ring());
    let sealed = a.seal(&AAD, b"secret").unwrap();
    let err = b.open(&AAD, &sealed).unwrap_err();
    assert_eq!(
        err,
        SealError::UnknownKey { sealed_with: a.current_id(), current: b.current_id(), previous: None }
    );
    let message = err.to_string();
    assert!(message.contains(&a.current_id().to_string()), "{message}");
    assert!(message.contains(&b.current_id().to_string()), "{message}");

    // A key that claims the right id but is not the key (rewritten header) is rejected.
    let mut forged = sealed.clone();
    forged[5..13].copy_from_slice(&b.current_id().0);
    assert_eq!(b.open(&AAD, &forged).unwrap_err(), SealError::Rejected(b.current_id()));
}

#[test]
fn previous_key_opens_during_a_rotation() {
    let old = MasterKey::generate();
    let sealed = Keyring::new(old.clone(), None).seal(&AAD, b"secret").unwrap();
    let rotating = Keyring::new(MasterKey::generate(), Some(old.clone()));
    assert!(!rotating.is_current(&sealed));
    assert_eq!(rotating.open(&AAD, &sealed).unwrap().as_slice(), b"secret");
    assert_eq!(rotating.previous_id(), Some(old.id()));
}

#[test]
fn a_value_moved_to_another_row_column_or_table_does_not_open() {
    let keys = ring();
    let sealed = keys.seal(&AAD, b"secret").unwrap();
    for other in [
        Aad { row: "k2", ..AAD },
        Aad { column: "public_key", ..AAD },
        Aad { table: "webhooks", ..AAD },
        // Length prefixes: shifting bytes between parts changes the associated data.
        Aad { table: "signing_keysp", column: "rivate_key", row: "k1" },
    ] {
        assert_eq!(keys.open(&other, &sealed).unwrap_err(), SealError::Rejected(keys.current_id()));
    }
}

#[test]
fn tampering_anywhere_is_detected() {
    let keys = ring();
    let sealed = keys.seal(&AAD, b"secret").unwrap();
    for i in 0..sealed.len() {
        let mut bad = sealed.clone();
        bad[i] ^= 0x01;
        assert!(keys.open(&AAD, &bad).is_err(), "flipping byte {i} went unnoticed");
    }
    assert!(keys.open(&AAD, &sealed[..sealed.len() - 1]).is_err());
    let mut version = sealed.clone();
    version[4] = 2;
    assert_eq!(keys.open(&AAD, &version).unwrap_err(), SealError::UnsupportedVersion(2));
}

#[test]
fn plaintext_is_not_sealed() {
    let der = [0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22];
    assert!(!is_sealed(&der));
    assert_eq!(sealed_key_id(&der), None);
    assert_eq!(ring().open(&AAD, &der).unwrap_err(), SealError::NotSealed);
}

#[test]
fn base64_keys_of_the_wrong_length_or_alphabet_are_refused_without_quoting_them() {
    let key = MasterKey::generate();
    let text = key.to_base64();
    let parsed = MasterKey::from_base64(&format!(" {}\n", text.as_str()), "OPERANT_MASTER_KEY").unwrap();
    assert_eq!(parsed.id(), key.id());
    // Unpadded works as well.
    assert_eq!(MasterKey::from_base64(text.trim_end_matches('='), "X").unwrap().id(), key.id());

    let short = "c2hvcnQta2V5LW9mLTE2Yg=="; // 16 bytes
    let err = MasterKey::from_base64(short, "OPERANT_MASTER_KEY").unwrap_err().to_string();
    assert!(err.contains("OPERANT_MASTER_KEY") && err.contains("16 bytes"), "{err}");
    assert!(!err.contains(short), "{err}");
    let err = MasterKey::from_base64("not base64 at all!", "OPERANT_MASTER_KEY").unwrap_err().to_string();
    assert!(err.contains("not valid base64"), "{err}");
    assert!(!err.contains("at all"), "{err}");
}

#[test]
fn debug_and_display_show_only_the_key_id() {
    let key = MasterKey::generate();
    let text = key.to_base64();
    let keys = Keyring::new(key.clone(), Some(MasterKey::generate()));
    for shown in [format!("{key:?}"), format!("{key}"), format!("{keys:?}")] {
        assert!(shown.contains(&key.id().to_string()), "{shown}");
        assert!(!shown.contains(text.as_str()), "{shown}");
        assert!(!shown.contains(&format!("{:?}", key.bytes())), "{shown}");
    }
    assert_eq!(key.id().to_string().len(), 16);
}

fn lookup(vars: &[(&str, String)]) -> impl Fn(&str) -> Option<String> + use<> {
    let map: HashMap<String, String> = vars.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect();
    move |name| map.get(name).cloned()
}

#[test]
fn configuration_from_variables_and_files() {
    let dir = std::env::temp_dir().join(format!("operant-seal-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (current, previous) = (MasterKey::generate(), MasterKey::generate());
    let file = dir.join("previous.key");
    std::fs::write(&file, format!("{}\n", previous.to_base64().as_str())).unwrap();
    let config = MasterKeyConfig::from_lookup(lookup(&[
        ("OPERANT_MASTER_KEY", current.to_base64().to_string()),
        ("OPERANT_MASTER_KEY_PREVIOUS_FILE", file.display().to_string()),
    ]))
    .unwrap();
    let keys = config.keyring(true).unwrap();
    assert_eq!((keys.current_id(), keys.previous_id()), (current.id(), Some(previous.id())));

    let both = MasterKeyConfig::from_lookup(lookup(&[
        ("OPERANT_MASTER_KEY", current.to_base64().to_string()),
        ("OPERANT_MASTER_KEY_FILE", file.display().to_string()),
    ]))
    .unwrap_err()
    .to_string();
    assert_eq!(both, "set OPERANT_MASTER_KEY or OPERANT_MASTER_KEY_FILE, not both");
    let missing = MasterKeyConfig::from_lookup(lookup(&[(
        "OPERANT_MASTER_KEY_FILE",
        dir.join("absent").display().to_string(),
    )]))
    .unwrap_err()
    .to_string();
    assert!(missing.contains("OPERANT_MASTER_KEY_FILE"), "{missing}");

    // No key: production refuses, development generates one (mode 0600) and reuses it.
    let data_dir = dir.join("data");
    let none = MasterKeyConfig::from_lookup(lookup(&[("OPERANT_DATA_DIR", data_dir.display().to_string())]))
        .unwrap();
    assert_eq!(none.keyring(true).unwrap_err().to_string(), MISSING_MASTER_KEY);
    let first = none.keyring(false).unwrap();
    let second = none.keyring(false).unwrap();
    assert_eq!(first.current_id(), second.current_id());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(data_dir.join("master.key")).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
