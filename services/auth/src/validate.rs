//! Input rules shared by the RPCs: email normalisation, the password policy and display names.
//! Failures name the field (422 `VALIDATION_ERROR`).

use crate::error::{AuthError, AuthResult};

/// bcrypt only looks at the first 72 bytes; longer passwords are refused, never truncated.
pub const MAX_PASSWORD_BYTES: usize = 72;
pub const MIN_PASSWORD_CHARS: usize = 8;
pub const MAX_FULL_NAME_CHARS: usize = 200;

/// Trims and lower-cases an email and checks its shape.
pub fn email(field: &str, raw: &str) -> AuthResult<String> {
    let email = raw.trim().to_lowercase();
    let invalid = |why: &str| Err(AuthError::invalid(field, why));
    if email.is_empty() {
        return invalid("is required");
    }
    if email.len() > 320 {
        return invalid("must be at most 320 characters");
    }
    let Some((local, domain)) = email.split_once('@') else {
        return invalid("is not a valid email address");
    };
    let valid = !local.is_empty()
        && local.len() <= 64
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

/// The password policy: at least 8 characters, at most 72 bytes.
pub fn password(field: &str, password: &str) -> AuthResult<()> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(AuthError::invalid(field, format!("must be at least {MIN_PASSWORD_CHARS} characters")));
    }
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(AuthError::invalid(
            field,
            format!("must be at most {MAX_PASSWORD_BYTES} bytes (UTF-8); longer passwords are not truncated"),
        ));
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
    }

    #[test]
    fn password_policy() {
        assert!(password("password", "short").is_err());
        assert!(password("password", "long enough").is_ok());
        assert!(password("password", &"x".repeat(72)).is_ok());
        assert!(password("password", &"x".repeat(73)).is_err());
        // 8 characters but 24 bytes is fine; 25 three-byte characters (75 bytes) is not.
        assert!(password("password", &"€".repeat(8)).is_ok());
        assert!(password("password", &"€".repeat(25)).is_err());
    }

    #[test]
    fn full_names() {
        assert_eq!(full_name("full_name", Some("  ")).ok(), Some(None));
        assert_eq!(full_name("full_name", Some(" Ann ")).ok(), Some(Some("Ann".to_owned())));
        assert!(full_name("full_name", Some(&"x".repeat(201))).is_err());
    }
}
