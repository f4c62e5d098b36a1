//! Signing keys: one is created at first start (and only one, even with several replicas),
//! rotation adds a new one while tokens of the old one keep verifying until they expire.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use operant_proto::auth::v1 as pb;
use operant_testkit::*;

fn kid_of(token: &str) -> String {
    let header = token.split('.').next().unwrap();
    let header: serde_json::Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap();
    assert_eq!(header["alg"], "EdDSA");
    header["kid"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_share_one_key_and_rotation_keeps_old_tokens_valid() {
    let app = TestApp::spawn().await;
    let mut c = app.clients();
    // Two more replicas starting together still leave a single key.
    let (r1, r2) = tokio::join!(
        app.spawn_auth_replica(Arc::new(CapturingMailer::default())),
        app.spawn_auth_replica(Arc::new(CapturingMailer::default()))
    );
    let count: i64 =
        app.sql().await.query_one("SELECT count(*) FROM signing_keys", &[]).await.unwrap().get(0);
    assert_eq!(count, 1);

    let (user, old) = c.user_with_tokens("rotation").await;
    let old_kid = kid_of(&old.access_token);
    let jwks = c.auth.get_jwks(pb::GetJwksRequest {}).await.unwrap().into_inner().keys;
    assert_eq!(jwks.len(), 1);
    assert_eq!(
        (jwks[0].kty.as_str(), jwks[0].crv.as_str(), jwks[0].alg.as_str()),
        ("OKP", "Ed25519", "EdDSA")
    );
    assert_eq!(jwks[0].r#use, "sig");
    assert_eq!(jwks[0].kid, old_kid);
    assert_eq!(URL_SAFE_NO_PAD.decode(&jwks[0].x).unwrap().len(), 32);

    let new_kid = operant_auth::rotate_signing_key(&app.settings).await.unwrap();
    assert_ne!(new_kid, old_kid);

    // Every replica signs with the new key promptly (the rotation is announced by NOTIFY).
    for addr in [app.auth_addr, r1.addr, r2.addr] {
        let mut rc = app.clients().with_auth_at(addr);
        let switched = eventually(Duration::from_secs(2), || {
            let mut auth = rc.auth.clone();
            let (email, kid) = (user.email.clone(), new_kid.clone());
            async move {
                let pair = auth
                    .login(pb::LoginRequest { email, password: PASSWORD.into() })
                    .await
                    .unwrap()
                    .into_inner()
                    .tokens
                    .unwrap();
                kid_of(&pair.access_token) == kid
            }
        })
        .await;
        assert!(switched, "replica {addr} still signs with the old key");
        // Old tokens still verify, on every replica.
        rc.me(&old.access_token).await.unwrap();
    }
    let fresh = c.login(&user.email).await;
    assert_eq!(kid_of(&fresh.access_token), new_kid);
    c.me(&fresh.access_token).await.unwrap();
    let refreshed = c.refresh(&old.refresh_token).await.unwrap();
    assert_eq!(kid_of(&refreshed.access_token), new_kid);

    // Other services learn both keys: the active one first, the old one with an end date.
    let keys =
        c.auth_internal.list_signing_keys(pb::ListSigningKeysRequest {}).await.unwrap().into_inner().keys;
    assert_eq!(keys.len(), 2);
    assert_eq!(keys[0].kid, new_kid);
    assert!(keys[0].verify_until.is_none());
    assert_eq!(keys[1].kid, old_kid);
    let until = keys[1].verify_until.unwrap().seconds;
    let expected = chrono::Utc::now().timestamp() + 900 + 60;
    assert!((until - expected).abs() < 10, "verify_until {until}, expected about {expected}");
    assert_eq!(c.auth.get_jwks(pb::GetJwksRequest {}).await.unwrap().into_inner().keys.len(), 2);
    app.shutdown().await;
}
