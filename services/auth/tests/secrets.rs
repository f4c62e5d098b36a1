//! Secrets at rest (issue 19): signing keys are stored sealed with the master key and bound to
//! their row; production refuses to start without the key that sealed them; a database with
//! plaintext keys is sealed at start without invalidating its tokens; the master key rotates
//! under load without a failed request.
//!
#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::pkcs8::EncodePrivateKey;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use operant_platform::config::{Environment, MailMode, Settings};
use operant_platform::shutdown::Shutdown;
use operant_platform::tokens::AccessClaims;
use operant_proto::auth::v1 as pb;
use operant_seal::{Aad, Keyring, MISSING_MASTER_KEY, MasterKey, SealError, sealed_key_id};
use operant_testkit::*;

/// The start of a PKCS#8 v1 Ed25519 private key.
const PKCS8_V1_ED25519: [u8; 12] = [0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70];
/// The Ed25519 AlgorithmIdentifier (`SEQUENCE { OID 1.3.101.112 }`), in every PKCS#8 Ed25519
/// key: v1 as above, and v2 (`30 51 02 01 01 …`, with the public key), which is what
/// ed25519-dalek writes and so what plaintext rows hold (the v1 prefix alone would miss them).
const ED25519_ALGORITHM: [u8; 7] = [0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70];

/// Whether `stored` shows a PKCS#8 Ed25519 key.
fn looks_like_pkcs8(stored: &[u8]) -> bool {
    contains(stored, &PKCS8_V1_ED25519) || contains(stored, &ED25519_ALGORITHM)
}

fn aad(kid: &str) -> Aad<'_> {
    Aad { table: "signing_keys", column: "private_key", row: kid }
}

/// Clients of the suite with auth's pointing at `addr` (the suite's auth or a replica).
fn clients(app: &TestApp, addr: SocketAddr) -> Clients {
    app.clients().with_auth_at(addr)
}

async fn register(c: &mut Clients, tag: &str) -> String {
    let email = unique_email(tag);
    c.register(&email).await;
    email
}

/// A login whose failure the load test counts (the kit's `login` panics on one).
async fn login(c: &mut Clients, email: &str) -> Result<pb::TokenPair, tonic::Status> {
    c.auth
        .login(pb::LoginRequest { email: email.to_owned(), password: PASSWORD.into() })
        .await
        .map(|r| r.into_inner().tokens.unwrap())
}

fn kid_of(token: &str) -> String {
    let header = URL_SAFE_NO_PAD.decode(token.split('.').next().unwrap()).unwrap();
    serde_json::from_slice::<serde_json::Value>(&header).unwrap()["kid"].as_str().unwrap().to_owned()
}

async fn signing_keys(app: &TestApp) -> Vec<(String, Vec<u8>)> {
    app.sql()
        .await
        .query("SELECT kid, private_key FROM signing_keys ORDER BY kid", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// `settings` for one more auth server.
fn replica_settings(app: &TestApp, configure: impl FnOnce(&mut Settings)) -> Settings {
    let mut settings = app.settings.as_ref().clone();
    settings.listen.auth_admin = ([127, 0, 0, 1], 0).into();
    configure(&mut settings);
    settings
}

/// Runs an auth server that is expected to refuse to start; returns its error.
async fn start_fails(settings: Settings) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let (_trigger, shutdown) = Shutdown::new();
    let run = operant_auth::run(Arc::new(settings), listener, shutdown);
    match tokio::time::timeout(Duration::from_secs(20), run).await {
        Ok(Err(e)) => format!("{e:#}"),
        Ok(Ok(())) => panic!("auth stopped without an error"),
        Err(_) => panic!("auth did not refuse to start"),
    }
}

/// An auth replica that serves; dropping it stops it.
async fn start_replica(app: &TestApp, settings: Settings) -> (SocketAddr, Replica) {
    let replica = app.spawn_auth_replica_with(settings, Arc::new(CapturingMailer::default())).await;
    (replica.addr, replica)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_keys_are_sealed_and_bound_to_their_row() {
    let app = TestApp::spawn().await;
    operant_auth::rotate_signing_key(&app.settings).await.unwrap();
    let active = operant_auth::rotate_signing_key(&app.settings).await.unwrap();
    let keyring = app.settings.keyring().unwrap();
    let rows = signing_keys(&app).await;
    assert_eq!(rows.len(), 3);
    let stranger = Keyring::new(MasterKey::generate(), None);
    for (kid, stored) in &rows {
        assert!(!looks_like_pkcs8(stored), "signing key {kid} is stored in plaintext");
        assert_eq!(sealed_key_id(stored), Some(keyring.current_id()));
        let der = keyring.open(&aad(kid), stored).unwrap();
        assert!(looks_like_pkcs8(&der), "the check above would catch a plaintext key");
        assert!(!contains(stored, &der[16..48]), "the key bytes of {kid} are visible");
        // The wrong master key does not open it, and says which key it needs.
        let err = stranger.open(&aad(kid), stored).unwrap_err();
        assert!(matches!(err, SealError::UnknownKey { .. }), "{err}");
        assert!(err.to_string().contains(&keyring.current_id().to_string()), "{err}");
    }
    let none: i64 = app
        .sql()
        .await
        .query_one(
            "SELECT count(*) FROM signing_keys \
             WHERE position($1::bytea IN private_key) > 0 OR position($2::bytea IN private_key) > 0",
            &[&PKCS8_V1_ED25519.to_vec(), &ED25519_ALGORITHM.to_vec()],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(none, 0);

    // A sealed key copied onto another row does not open there...
    let (other_kid, other) = rows.iter().find(|(kid, _)| *kid != active).unwrap();
    assert_eq!(keyring.open(&aad(&active), other).unwrap_err(), SealError::Rejected(keyring.current_id()));
    // ...so auth refuses to start on a database where that happened, naming the row.
    app.sql()
        .await
        .execute("UPDATE signing_keys SET private_key = $1 WHERE kid = $2", &[other, &active])
        .await
        .unwrap();
    let err = start_fails(replica_settings(&app, |_| {})).await;
    assert!(err.contains(&format!("signing key {active}")), "{err}");
    assert!(err.contains("altered or belongs to another row"), "{err}");
    assert!(!err.contains(other_kid.as_str()), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn production_refuses_to_start_without_the_master_key_that_sealed_the_keys() {
    let app = TestApp::spawn().await;
    let sealed_with = app.settings.keyring().unwrap().current_id();
    let production = |s: &mut Settings| {
        s.environment = Environment::Production;
        s.service_token = "a-production-service-token-of-40-characters".into();
        s.tokens.bcrypt_cost = 10;
        // Production refuses to start without a mail transport unless mail is disabled.
        s.mail.mode = MailMode::Disabled;
    };

    // Without a key: no keyring, and auth refuses to start with the documented error.
    let mut without = replica_settings(&app, production);
    without.master_key.current = None;
    without.validate().unwrap();
    assert_eq!(without.keyring().unwrap_err().to_string(), MISSING_MASTER_KEY);
    assert_eq!(start_fails(without).await, MISSING_MASTER_KEY);

    // With a key that did not seal the stored keys: the error names both key ids, not the keys.
    let wrong = MasterKey::generate();
    let mut with_wrong = replica_settings(&app, production);
    with_wrong.master_key.current = Some(wrong.clone());
    with_wrong.validate().unwrap();
    let err = start_fails(with_wrong.clone()).await;
    assert!(err.contains("auth cannot start"), "{err}");
    assert!(err.contains(&format!("sealed with master key {sealed_with}")), "{err}");
    assert!(err.contains(&format!("OPERANT_MASTER_KEY is {}", wrong.id())), "{err}");
    let right = app.settings.master_key.current.clone().unwrap();
    for secret in [wrong.to_base64(), right.to_base64()] {
        assert!(!err.contains(secret.as_str()), "{err}");
    }

    // The same wrong key with the right one as previous (the middle of a rotation) starts.
    with_wrong.master_key.previous = Some(right);
    with_wrong.tokens.bcrypt_cost = 4; // (validated above; a cheap hash keeps the test fast)
    let (addr, _stop) = start_replica(&app, with_wrong).await;
    let mut c = clients(&app, addr);
    let email = register(&mut c, "prod").await;
    let pair = login(&mut c, &email).await.unwrap();
    c.me(&pair.access_token).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plaintext_keys_of_an_existing_database_are_sealed_at_start_and_their_tokens_stay_valid() {
    let app = TestApp::spawn().await;
    let mut c = clients(&app, app.auth_addr);
    let email = register(&mut c, "legacy").await;
    let pair = login(&mut c, &email).await.unwrap();

    // The database as the version before sealing left it: its one key stored as plaintext
    // PKCS#8, and an access token signed with it (as that version signed them).
    let legacy = ed25519_dalek::SigningKey::generate(&mut rand::rngs::OsRng);
    let der = legacy.to_pkcs8_der().unwrap().as_bytes().to_vec();
    let kid = format!("k{}", uuid::Uuid::now_v7().simple());
    let client = app.sql().await;
    client.execute("DELETE FROM signing_keys", &[]).await.unwrap();
    client
        .execute(
            "INSERT INTO signing_keys (kid, private_key, public_key) VALUES ($1, $2, $3)",
            &[&kid, &der, &legacy.verifying_key().to_bytes().to_vec()],
        )
        .await
        .unwrap();
    let payload = URL_SAFE_NO_PAD.decode(pair.access_token.split('.').nth(1).unwrap()).unwrap();
    let claims: AccessClaims = serde_json::from_slice(&payload).unwrap();
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some(kid.clone());
    let old_token = jsonwebtoken::encode(&header, &claims, &EncodingKey::from_ed_der(&der)).unwrap();

    // The new version starts with a master key: the row is sealed, the key is the same.
    let (addr, _stop) = start_replica(&app, replica_settings(&app, |_| {})).await;
    let rows = signing_keys(&app).await;
    assert_eq!(rows.len(), 1, "no second key was created");
    let (stored_kid, stored) = &rows[0];
    assert_eq!(stored_kid, &kid);
    assert!(looks_like_pkcs8(&der), "the legacy row is what the old version stored");
    assert!(!looks_like_pkcs8(stored), "still plaintext");
    let keyring = app.settings.keyring().unwrap();
    assert_eq!(sealed_key_id(stored), Some(keyring.current_id()));
    assert_eq!(keyring.open(&aad(&kid), stored).unwrap().as_slice(), der.as_slice());

    // The token signed before still verifies, and new tokens are signed with the same key.
    let mut r = clients(&app, addr);
    assert_eq!(r.me(&old_token).await.unwrap().email, email);
    let refreshed = r.refresh(&pair.refresh_token).await.unwrap();
    assert_eq!(kid_of(&refreshed.access_token), kid);
    r.me(&refreshed.access_token).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn master_key_rotation_under_load_keeps_every_request_succeeding() {
    let app = TestApp::spawn().await;
    let old = app.settings.master_key.current.clone().unwrap();
    let new = MasterKey::generate();
    let old_ring = Keyring::new(old.clone(), None);
    operant_auth::rotate_signing_key(&app.settings).await.unwrap();
    // Expired keys are sealed values too: enough of them for several re-seal batches.
    let client = app.sql().await;
    for i in 0..250 {
        let kid = format!("kexpired{i:04}");
        let sealed = old_ring.seal(&aad(&kid), &[i as u8; 48]).unwrap();
        client
            .execute(
                "INSERT INTO signing_keys (kid, private_key, public_key, retired_at, verify_until) \
                 VALUES ($1, $2, $3, now() - interval '2 days', now() - interval '1 day')",
                &[&kid, &sealed, &vec![7u8; 32]],
            )
            .await
            .unwrap();
    }

    // Without the previous key the rotation stops at once, naming what it needs.
    let without_previous = replica_settings(&app, |s| s.master_key.current = Some(new.clone()));
    let err = format!("{:#}", operant_auth::rotate_master_key(&without_previous).await.unwrap_err());
    assert!(err.contains(&format!("sealed with master key {}", old.id())), "{err}");
    let rows = signing_keys(&app).await;
    assert!(rows.iter().all(|(_, v)| sealed_key_id(v) == Some(old.id())), "a failed batch changed nothing");

    // Step 1 of the procedure: every auth replica runs with the new key and the old as previous.
    let rotating = replica_settings(&app, |s| {
        s.master_key.current = Some(new.clone());
        s.master_key.previous = Some(old.clone());
    });
    let (a, _stop_a) = start_replica(&app, rotating.clone()).await;
    let (b, _stop_b) = start_replica(&app, rotating.clone()).await;
    let mut users = Vec::new();
    for i in 0..4usize {
        let mut c = clients(&app, if i.is_multiple_of(2) { a } else { b });
        let email = register(&mut c, "load").await;
        let pair = login(&mut c, &email).await.unwrap();
        users.push((email, pair.refresh_token));
    }

    // Step 2, under load: logins, refreshes and authenticated calls on both replicas while the
    // values are re-sealed and, midway, a signing-key rotation makes every replica reload (and
    // open keys sealed with either master key).
    let done = Arc::new(AtomicBool::new(false));
    let (ok, failed) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let mut workers = tokio::task::JoinSet::new();
    for (i, (email, mut refresh_token)) in users.into_iter().enumerate() {
        let c = clients(&app, if i.is_multiple_of(2) { a } else { b });
        let (done, ok, failed) = (done.clone(), ok.clone(), failed.clone());
        workers.spawn(async move {
            let mut c = c;
            let mut errors = Vec::new();
            let mut n = 0u64;
            while !done.load(Ordering::Relaxed) || n < 75 {
                n += 1;
                let result = if n.is_multiple_of(2) {
                    login(&mut c, &email).await
                } else {
                    c.refresh(&refresh_token).await.inspect(|p| refresh_token = p.refresh_token.clone())
                };
                match result {
                    Ok(pair) => match c.me(&pair.access_token).await {
                        Ok(_) => ok.fetch_add(1, Ordering::Relaxed),
                        Err(e) => {
                            errors.push(format!("me: {e:?}"));
                            failed.fetch_add(1, Ordering::Relaxed)
                        }
                    },
                    Err(e) => {
                        errors.push(format!("{e:?}"));
                        failed.fetch_add(1, Ordering::Relaxed)
                    }
                };
            }
            errors
        });
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let rotation = tokio::spawn({
        let settings = rotating.clone();
        async move { operant_auth::rotate_master_key(&settings).await }
    });
    let new_signing_key = operant_auth::rotate_signing_key(&rotating).await.unwrap();
    let resealed = rotation.await.unwrap().unwrap();
    assert!(resealed >= 252, "re-sealed {resealed}");
    // Both replicas reloaded their keys (sealed with either master key by now) and sign with
    // the signing key created during the rotation; the load keeps running meanwhile.
    for addr in [a, b] {
        let mut c = clients(&app, addr);
        let email = register(&mut c, "switch").await;
        let mut switched = false;
        for _ in 0..100 {
            if kid_of(&login(&mut c, &email).await.unwrap().access_token) == new_signing_key {
                switched = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(switched, "replica {addr} did not reload its keys");
    }
    done.store(true, Ordering::Relaxed);
    let mut errors = Vec::new();
    while let Some(worker) = workers.join_next().await {
        errors.extend(worker.unwrap());
    }
    let (ok, failed) = (ok.load(Ordering::Relaxed), failed.load(Ordering::Relaxed));
    assert!(errors.is_empty(), "{failed} of {} requests failed: {errors:?}", ok + failed);
    assert!(ok >= 300, "only {ok} requests");

    // Nothing is sealed with the old key any more; everything opens with the new one alone.
    let new_ring = Keyring::new(new.clone(), None);
    let rows = signing_keys(&app).await;
    assert_eq!(rows.len(), 253);
    for (kid, stored) in &rows {
        assert_eq!(sealed_key_id(stored), Some(new.id()), "{kid}");
        new_ring.open(&aad(kid), stored).unwrap();
    }
    assert_eq!(operant_auth::rotate_master_key(&rotating).await.unwrap(), 0);

    // Step 3: the previous key is removed; a replica with the new key alone serves.
    let (c_addr, _stop_c) = start_replica(&app, without_previous).await;
    let mut c = clients(&app, c_addr);
    let email = register(&mut c, "after").await;
    let pair = login(&mut c, &email).await.unwrap();
    assert_eq!(kid_of(&pair.access_token), new_signing_key);
    c.me(&pair.access_token).await.unwrap();
}
