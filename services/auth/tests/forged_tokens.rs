//! Every way to forge or misuse an access token is refused with its own error code.
#![allow(clippy::unwrap_used)]

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::pkcs8::EncodePrivateKey;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use operant_platform::tokens::AccessClaims;
use operant_testkit::*;

fn claims_of(token: &str) -> AccessClaims {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

fn sign(claims: &AccessClaims, kid: &str, key: &EncodingKey) -> String {
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some(kid.to_owned());
    jsonwebtoken::encode(&header, claims, key).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_tokens_get_distinct_codes() {
    let app = TestApp::spawn().await;
    let mut c = app.clients();
    let (_, pair) = c.user_with_tokens("forger").await;
    let valid = claims_of(&pair.access_token);
    assert_eq!(valid.typ, "access");
    assert_eq!(valid.exp - valid.iat, 900);

    // The real key, read from the database (and opened with the master key), to sign tokens
    // that are wrong in one way only.
    let row = app.sql().await.query_one("SELECT kid, private_key FROM signing_keys", &[]).await.unwrap();
    let (kid, sealed): (String, Vec<u8>) = (row.get(0), row.get(1));
    let aad = operant_seal::Aad { table: "signing_keys", column: "private_key", row: &kid };
    let real = EncodingKey::from_ed_der(&app.settings.keyring().unwrap().open(&aad, &sealed).unwrap());
    // A control: re-signing the valid claims with the real key works.
    c.me(&sign(&valid, &kid, &real)).await.unwrap();

    let mut cases: Vec<(&str, String)> = Vec::new();
    // alg none.
    let none_header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let payload = pair.access_token.split('.').nth(1).unwrap();
    cases.push(("TOKEN_ALGORITHM_NOT_ALLOWED", format!("{none_header}.{payload}.")));
    // HS256 with some secret (including the public key bytes, the classic confusion attack).
    let public: Vec<u8> =
        app.sql().await.query_one("SELECT public_key FROM signing_keys", &[]).await.unwrap().get(0);
    for secret in [b"secret".to_vec(), public] {
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(kid.clone());
        let token = jsonwebtoken::encode(&header, &valid, &EncodingKey::from_secret(&secret)).unwrap();
        cases.push(("TOKEN_ALGORITHM_NOT_ALLOWED", token));
    }
    cases.push((
        "TOKEN_WRONG_AUDIENCE",
        sign(&AccessClaims { aud: "other-api".into(), ..valid.clone() }, &kid, &real),
    ));
    cases.push((
        "TOKEN_WRONG_ISSUER",
        sign(&AccessClaims { iss: "evil".into(), ..valid.clone() }, &kid, &real),
    ));
    // Tampered signature: change one byte in the middle of the signature.
    let mut parts: Vec<String> = pair.access_token.split('.').map(str::to_owned).collect();
    let mut sig = URL_SAFE_NO_PAD.decode(&parts[2]).unwrap();
    sig[10] ^= 0x01;
    parts[2] = URL_SAFE_NO_PAD.encode(sig);
    cases.push(("TOKEN_SIGNATURE_INVALID", parts.join(".")));
    // Tampered claims with the original signature.
    let mut parts: Vec<String> = pair.access_token.split('.').map(str::to_owned).collect();
    let elevated = AccessClaims { sub: uuid::Uuid::new_v4().to_string(), ..valid.clone() };
    parts[1] = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&elevated).unwrap());
    cases.push(("TOKEN_SIGNATURE_INVALID", parts.join(".")));
    // A key the auth service never had.
    let stranger = ed25519_dalek::SigningKey::generate(&mut rand::rngs::OsRng);
    let stranger = EncodingKey::from_ed_der(stranger.to_pkcs8_der().unwrap().as_bytes());
    cases.push(("TOKEN_UNKNOWN_KEY", sign(&valid, "unknown-kid", &stranger)));
    // Unknown key, but a real kid: the signature does not match.
    cases.push(("TOKEN_SIGNATURE_INVALID", sign(&valid, &kid, &stranger)));
    // Expired (well past the verifier's leeway).
    let now = chrono::Utc::now().timestamp();
    let expired = AccessClaims { iat: now - 1000, exp: now - 100, ..valid.clone() };
    cases.push(("TOKEN_EXPIRED", sign(&expired, &kid, &real)));
    // A refresh token used as an access token, and a JWT of another type.
    cases.push(("TOKEN_WRONG_TYPE", pair.refresh_token.clone()));
    cases.push((
        "TOKEN_WRONG_TYPE",
        sign(&AccessClaims { typ: "refresh".into(), ..valid.clone() }, &kid, &real),
    ));
    cases.push(("TOKEN_MALFORMED", "not.a.jwt".to_owned()));
    cases.push(("TOKEN_MALFORMED", "garbage".to_owned()));

    for (expected, token) in cases {
        let status = c.me(&token).await.unwrap_err();
        assert_eq!(status.code(), tonic::Code::Unauthenticated, "{expected}: {status:?}");
        assert_eq!(
            operant_platform::error::error_code_of(&status).as_deref(),
            Some(expected),
            "token {token}"
        );
    }
    // The genuine token still works.
    c.me(&pair.access_token).await.unwrap();
    app.shutdown().await;
}
