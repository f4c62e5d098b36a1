//! Unit tests of `idempotency`.

#![allow(clippy::unwrap_used)]

use super::*;

#[test]
fn keys_are_visible_ascii_of_1_to_255() {
    assert!(parse_key("").unwrap().is_none());
    assert_eq!(parse_key("a").unwrap(), Some("a"));
    assert!(parse_key(&"k".repeat(255)).unwrap().is_some());
    for bad in ["k".repeat(256), "with space".into(), "tab\t".into(), "ünï".into(), "\u{7f}".into()] {
        assert_eq!(parse_key(&bad).unwrap_err().error_code, ErrorCode::InvalidIdempotencyKey, "{bad:?}");
    }
}

#[test]
fn fingerprints_tell_requests_apart() {
    let k = |route, parts: &[&[u8]]| Key::new("k", route, "user:1", parts).unwrap().unwrap().fingerprint;
    assert_eq!(k("/a", &[b"x", b"y"]), k("/a", &[b"x", b"y"]));
    assert_ne!(k("/a", &[b"x", b"y"]), k("/b", &[b"x", b"y"]));
    assert_ne!(k("/a", &[b"xy", b""]), k("/a", &[b"x", b"y"]));
}

#[test]
fn only_business_refusals_are_kept() {
    assert!(storable(ErrorCode::PlanLimitReached));
    assert!(storable(ErrorCode::SlugTaken));
    assert!(storable(ErrorCode::ProjectNotFound));
    for code in [
        ErrorCode::TokenExpired,
        ErrorCode::NotAMember,
        ErrorCode::TooManyAttempts,
        ErrorCode::DatabaseUnavailable,
        ErrorCode::ServiceUnavailable,
        ErrorCode::InternalError,
        ErrorCode::IdempotencyInFlight,
    ] {
        assert!(!storable(code), "{code}");
    }
}
