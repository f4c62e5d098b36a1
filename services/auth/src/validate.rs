//! Input rules shared by the RPCs: email normalisation, the password policy and display names.
//! Failures name the field (422 `VALIDATION_ERROR`).

use crate::error::{AuthError, AuthResult};

/// bcrypt only looks at the first 72 bytes: a password of more UTF-8 bytes is digested first
/// (`passwords`), never truncated.
pub const MAX_PASSWORD_BYTES: usize = 72;
/// Longest password, in characters (Unicode scalar values, what JSON Schema's `maxLength`
/// counts): the limit the OpenAPI document states.
pub const MAX_PASSWORD_CHARS: usize = 72;
pub const MIN_PASSWORD_CHARS: usize = 8;
pub const MAX_FULL_NAME_CHARS: usize = 200;

/// Trims and lower-cases an email and checks its shape. Lengths are in characters, as the
/// OpenAPI document states them (and as PostgreSQL's `length` counts them): at most 320, at
/// most 64 before the `@`.
pub fn email(field: &str, raw: &str) -> AuthResult<String> {
    let given = raw.trim();
    let email = given.to_lowercase();
    let invalid = |why: &str| Err(AuthError::invalid(field, why));
    if email.is_empty() {
        return invalid("is required");
    }
    // Lower-casing can lengthen (U+0130): the stored form must fit too.
    if given.chars().count() > 320 || email.chars().count() > 320 {
        return invalid("must be at most 320 characters");
    }
    let Some((local, domain)) = email.split_once('@') else {
        return invalid("is not a valid email address");
    };
    let given_local = given.split_once('@').map_or(given, |(l, _)| l);
    let valid = !local.is_empty()
        && given_local.chars().count() <= 64
        && !domain.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..")
        && !email.chars().any(|c| c.is_whitespace() || c.is_control());
    if !valid {
        return invalid("is not a valid email address");
    }
    Ok(email)
}

/// The password policy: 8 to 72 characters (whatever their UTF-8 size).
pub fn password(field: &str, password: &str) -> AuthResult<()> {
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        return Err(AuthError::invalid(field, format!("must be at least {MIN_PASSWORD_CHARS} characters")));
    }
    if chars > MAX_PASSWORD_CHARS {
        return Err(AuthError::invalid(field, format!("must be at most {MAX_PASSWORD_CHARS} characters")));
    }
    Ok(())
}

/// A display name: trimmed; empty means "none"; at most 200 characters.
pub fn full_name(field: &str, raw: Option<&str>) -> AuthResult<Option<String>> {
    let Some(name) = raw.map(str::trim).filter(|n| !n.is_empty()) else {
        return Ok(None);
    };
    if name.chars().count() > MAX_FULL_NAME_CHARS {
        return Err(AuthError::invalid(field, format!("must be at most {MAX_FULL_NAME_CHARS} characters")));
    }
    if name.chars().any(char::is_control) {
        return Err(AuthError::invalid(field, "must not contain control characters"));
    }
    Ok(Some(name.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(email("email", "  Ann@Example.COM ").ok(), Some("ann@example.com".to_owned()));
        for bad in ["", "ann", "ann@", "@x.io", "ann@localhost", "a b@x.io", "ann@x..io", "a@b@c.io"] {
            assert!(email("email", bad).is_err(), "{bad:?}");
        }
        // Characters, not bytes: 64 two-byte characters before the `@`, 320 in all.
        let local = "\u{e9}".repeat(64);
        assert!(email("email", &format!("{local}@x.io")).is_ok());
        assert!(email("email", &format!("{local}\u{e9}@x.io")).is_err());
        let long = format!("{local}@{}.io", "\u{e9}".repeat(320 - 64 - 4));
        assert_eq!(long.chars().count(), 320);
        assert!(email("email", &long).is_ok());
        assert!(email("email", &format!("\u{e9}{long}")).is_err());
    }

    #[test]
    fn password_policy() {
        assert!(password("password", "short").is_err());
        assert!(password("password", "long enough").is_ok());
        assert!(password("password", &"x".repeat(72)).is_ok());
        assert!(password("password", &"x".repeat(73)).is_err());
        // Characters count, not bytes: 72 three-byte characters (216 bytes) are fine, 73 are not.
        assert!(password("password", &"€".repeat(8)).is_ok());
        assert!(password("password", &"€".repeat(72)).is_ok());
        assert!(password("password", &"€".repeat(73)).is_err());
    }

    #[test]
    fn full_names() {
        assert_eq!(full_name("full_name", Some("  ")).ok(), Some(None));
        assert_eq!(full_name("full_name", Some(" Ann ")).ok(), Some(Some("Ann".to_owned())));
        assert!(full_name("full_name", Some(&"x".repeat(201))).is_err());
    }
}
