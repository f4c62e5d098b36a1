//! The refresh grace (issue 14) over gRPC: within `OPERANT_REFRESH_REUSE_GRACE_SECS` after a
//! rotation, the just-rotated token returns the same successor pair (a retry after a lost
//! answer, or parallel refreshes of one token); after the window, or with an older token, it is
//! reuse and the family is revoked. The kept pair is sealed, never in plaintext, and re-sealed by
//! the master-key rotation; one kept by the previous version is still returned.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use operant_proto::auth::v1 as pb;
use operant_seal::{Aad, Keyring, MasterKey, is_sealed};
use operant_testkit::*;

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// `(token_hash as text, successor_sealed)` of the user's refresh tokens that keep a successor.
async fn kept(app: &TestApp, user_id: &str) -> Vec<(String, Vec<u8>)> {
    app.sql()
        .await
        .query(
            "SELECT rt.token_hash::text, rt.successor_sealed FROM refresh_tokens rt \
             JOIN sessions s ON s.id = rt.session_id \
             WHERE s.user_id = $1::text::uuid AND rt.successor_sealed IS NOT NULL",
            &[&user_id],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| (row.get(0), row.get(1)))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_within_the_grace_returns_the_same_pair_which_keeps_working() {
    let app = TestApp::spawn().await;
    let mut c = app.clients();
    let (user, first) = c.user_with_tokens("retry").await;

    let second = c.refresh(&first.refresh_token).await.unwrap();
    // The answer was lost; the client retries with the token it still holds.
    let again = c.refresh(&first.refresh_token).await.unwrap();
    assert_eq!(again.refresh_token, second.refresh_token);
    assert_eq!(again.access_token, second.access_token);
    assert!(again.expires_in > 0 && again.expires_in <= second.expires_in, "{again:?}");
    assert!(again.refresh_expires_in > 0 && again.refresh_expires_in <= second.refresh_expires_in);
    let again = c.refresh(&first.refresh_token).await.unwrap();
    assert_eq!(
        (again.refresh_token, again.access_token),
        (second.refresh_token.clone(), second.access_token.clone())
    );

    assert_eq!(c.me(&second.access_token).await.unwrap().id, user.id);
    let third = c.refresh(&second.refresh_token).await.unwrap();
    assert_ne!(third.refresh_token, second.refresh_token);
    assert_eq!(c.me(&third.access_token).await.unwrap().id, user.id);
    assert_eq!(sql::live_refresh_tokens(&app, &user.id).await, 1);
    c.refresh(&third.refresh_token).await.unwrap();
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_refreshes_of_one_token_all_get_the_one_successor() {
    let app = TestApp::spawn().await;
    let mut c = app.clients();
    for parallel in [2usize, 10] {
        let (user, pair) = c.user_with_tokens("parallel").await;
        let attempts = (0..parallel).map(|_| {
            let mut auth = c.auth.clone();
            let refresh_token = pair.refresh_token.clone();
            async move { auth.refresh_token(pb::RefreshTokenRequest { refresh_token }).await }
        });
        let pairs: Vec<pb::TokenPair> = futures::future::join_all(attempts)
            .await
            .into_iter()
            .map(|r| r.unwrap().into_inner().tokens.unwrap())
            .collect();
        let successor = &pairs[0];
        for p in &pairs {
            assert_eq!(p.refresh_token, successor.refresh_token, "{parallel} parallel refreshes");
            assert_eq!(p.access_token, successor.access_token, "{parallel} parallel refreshes");
        }
        // The family still has exactly one live successor, and it keeps working.
        assert_eq!(sql::live_refresh_tokens(&app, &user.id).await, 1);
        assert_eq!(c.me(&successor.access_token).await.unwrap().id, user.id);
        let next = c.refresh(&successor.refresh_token).await.unwrap();
        assert_eq!(c.me(&next.access_token).await.unwrap().id, user.id);
    }
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reuse_after_the_grace_revokes_the_family() {
    let app = TestApp::spawn_with(|s| s.tokens.refresh_reuse_grace = Duration::from_secs(1)).await;
    let mut c = app.clients();
    let (user, first) = c.user_with_tokens("late").await;
    let second = c.refresh(&first.refresh_token).await.unwrap();
    assert_eq!(c.refresh(&first.refresh_token).await.unwrap().refresh_token, second.refresh_token);

    tokio::time::sleep(Duration::from_millis(1300)).await;
    assert_eq!(code(c.refresh(&first.refresh_token).await), "REFRESH_TOKEN_REUSED");
    assert_eq!(code(c.refresh(&second.refresh_token).await), "SESSION_REVOKED");
    assert_eq!(code(c.me(&second.access_token).await), "TOKEN_REVOKED");
    assert!(kept(&app, &user.id).await.is_empty(), "a revoked family keeps no successor");
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_kept_pair_is_dropped_after_the_grace_without_a_retry() {
    let app = TestApp::spawn_with(|s| s.tokens.refresh_reuse_grace = Duration::from_secs(1)).await;
    let mut c = app.clients();
    let (user, first) = c.user_with_tokens("sweep").await;
    let second = c.refresh(&first.refresh_token).await.unwrap();
    assert_eq!(kept(&app, &user.id).await.len(), 1);
    // The sweep runs every window (1 s here): within a few it has dropped the pair.
    let mut left = 1;
    for _ in 0..40 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        left = kept(&app, &user.id).await.len();
        if left == 0 {
            break;
        }
    }
    assert_eq!(left, 0, "the sealed pair outlived its window");
    // The successor is untouched.
    let third = c.refresh(&second.refresh_token).await.unwrap();
    assert_eq!(c.me(&third.access_token).await.unwrap().id, user.id);
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reuse_of_an_older_token_within_the_grace_revokes_the_family() {
    let app = TestApp::spawn().await;
    let mut c = app.clients();
    let (user, first) = c.user_with_tokens("older").await;
    let second = c.refresh(&first.refresh_token).await.unwrap();
    let third = c.refresh(&second.refresh_token).await.unwrap();
    // `first` is two rotations back: reuse, even a moment later.
    assert_eq!(code(c.refresh(&first.refresh_token).await), "REFRESH_TOKEN_REUSED");
    assert_eq!(code(c.refresh(&second.refresh_token).await), "REFRESH_TOKEN_REUSED");
    assert_eq!(code(c.refresh(&third.refresh_token).await), "SESSION_REVOKED");
    assert_eq!(code(c.me(&third.access_token).await), "TOKEN_REVOKED");
    assert!(kept(&app, &user.id).await.is_empty());
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_zero_grace_treats_every_retry_as_reuse() {
    let app = TestApp::spawn_with(|s| s.tokens.refresh_reuse_grace = Duration::ZERO).await;
    let mut c = app.clients();
    let (user, first) = c.user_with_tokens("nograce").await;
    let second = c.refresh(&first.refresh_token).await.unwrap();
    assert!(kept(&app, &user.id).await.is_empty(), "nothing is kept without a grace");
    assert_eq!(code(c.refresh(&first.refresh_token).await), "REFRESH_TOKEN_REUSED");
    assert_eq!(code(c.refresh(&second.refresh_token).await), "SESSION_REVOKED");
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_kept_pair_is_sealed_bound_to_its_row_and_resealed_by_the_master_key_rotation() {
    let app = TestApp::spawn().await;
    let mut c = app.clients();
    let (user, first) = c.user_with_tokens("sealed").await;
    let second = c.refresh(&first.refresh_token).await.unwrap();

    let rows = kept(&app, &user.id).await;
    assert_eq!(rows.len(), 1);
    let (row, sealed) = &rows[0];
    assert!(is_sealed(sealed));
    for plain in [&second.refresh_token, &second.access_token] {
        assert!(!contains(sealed, plain.as_bytes()), "plaintext token in refresh_tokens.successor_sealed");
    }
    // No other column holds the successor either (only its hash).
    let dump: String = app
        .sql()
        .await
        .query_one("SELECT string_agg(rt::text, ' ') FROM refresh_tokens rt", &[])
        .await
        .unwrap()
        .get(0);
    assert!(!dump.contains(&second.refresh_token) && !dump.contains(&second.access_token));

    // Rotating the successor drops the pair its predecessor kept.
    let mut fresh = app.clients();
    let (other, tokens) = fresh.user_with_tokens("dropped").await;
    let next = fresh.refresh(&tokens.refresh_token).await.unwrap();
    assert_eq!(kept(&app, &other.id).await.len(), 1);
    fresh.refresh(&next.refresh_token).await.unwrap();
    let rows = kept(&app, &other.id).await;
    assert_eq!(rows.len(), 1, "only the newest spent token keeps a successor");

    // Bound to table, column and row.
    let old = app.settings.master_key.current.clone().unwrap();
    let aad = |row| Aad { table: "refresh_tokens", column: "successor_sealed", row };
    let plain = Keyring::new(old.clone(), None).open(&aad(row), sealed).unwrap();
    assert!(contains(&plain, second.refresh_token.as_bytes()));
    assert!(Keyring::new(old.clone(), None).open(&aad("\\x00"), sealed).is_err());

    // `operant rotate-master-key` re-seals it with the new key.
    let new = MasterKey::generate();
    let mut rotating = app.settings.as_ref().clone();
    rotating.master_key.current = Some(new.clone());
    rotating.master_key.previous = Some(old);
    assert!(operant_auth::rotate_master_key(&rotating).await.unwrap() >= 1);
    let rows = kept(&app, &user.id).await;
    let plain = Keyring::new(new, None).open(&aad(&rows[0].0), &rows[0].1).unwrap();
    assert!(contains(&plain, second.refresh_token.as_bytes()));

    app.shutdown().await;
}

/// A pair kept by a version before the one-statement rotation (the signed pair itself, written by
/// a second statement) is still returned by a retry within the grace: an upgrade inside the
/// window logs nobody out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pair_kept_by_the_previous_version_is_still_returned() {
    let app = TestApp::spawn().await;
    let mut c = app.clients();
    let (user, first) = c.user_with_tokens("upgrade").await;
    let second = c.refresh(&first.refresh_token).await.unwrap();
    let rows = kept(&app, &user.id).await;
    assert_eq!(rows.len(), 1);
    let row = &rows[0].0;

    let now = chrono::Utc::now().timestamp();
    let legacy = serde_json::json!({
        "refresh_token": second.refresh_token,
        "access_token": second.access_token,
        "access_expires_at": now + 600,
        "refresh_expires_at": now + 3600,
    });
    let keyring = Keyring::new(app.settings.master_key.current.clone().unwrap(), None);
    let aad = Aad { table: "refresh_tokens", column: "successor_sealed", row };
    let sealed = keyring.seal(&aad, legacy.to_string().as_bytes()).unwrap();
    app.sql()
        .await
        .execute(
            "UPDATE refresh_tokens SET successor_sealed = $1 WHERE token_hash::text = $2",
            &[&sealed, row],
        )
        .await
        .unwrap();

    let again = c.refresh(&first.refresh_token).await.unwrap();
    assert_eq!(again.refresh_token, second.refresh_token);
    assert_eq!(again.access_token, second.access_token);
    assert!((595..=600).contains(&again.expires_in), "{again:?}");
    assert_eq!(c.me(&again.access_token).await.unwrap().id, user.id);

    app.shutdown().await;
}
