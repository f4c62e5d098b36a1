//! The work service's rules: validation of values, permissions, plan limits and optimistic
//! concurrency, each operation in one transaction.
//!
//! The gRPC handlers hand in parsed values and a [`Standing`] (the caller's role and plan limits
//! from tenancy's `Authorize`); everything that decides *whether* something may happen lives here.

use operant_platform::error::FieldViolation;

use crate::error::WorkError;

pub mod internal;
pub mod projects;
pub mod tasks;

pub use crate::model::Standing;

/// Longest name or title, in characters.
pub const MAX_TITLE_CHARS: usize = 200;
/// Longest description, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 10_000;
/// Longest search text, in characters.
pub const MAX_QUERY_CHARS: usize = 200;

/// A trimmed name or title of 1..=200 characters.
pub(crate) fn title(field: &str, value: &str, violations: &mut Vec<FieldViolation>) -> String {
    let value = value.trim();
    if value.is_empty() {
        violations.push(FieldViolation::new(field, "must not be empty"));
    } else if value.chars().count() > MAX_TITLE_CHARS {
        violations.push(FieldViolation::new(field, format!("must be at most {MAX_TITLE_CHARS} characters")));
    } else if value.contains('\0') {
        violations.push(FieldViolation::new(field, "must not contain NUL characters"));
    }
    value.to_owned()
}

/// An optional description of at most 10000 characters.
pub(crate) fn description(value: Option<&str>, violations: &mut Vec<FieldViolation>) {
    if let Some(value) = value {
        if value.chars().count() > MAX_DESCRIPTION_CHARS {
            violations.push(FieldViolation::new(
                "description",
                format!("must be at most {MAX_DESCRIPTION_CHARS} characters"),
            ));
        } else if value.contains('\0') {
            violations.push(FieldViolation::new("description", "must not contain NUL characters"));
        }
    }
}

/// A search text: trimmed, empty means no filter.
pub(crate) fn search(value: Option<&str>, violations: &mut Vec<FieldViolation>) -> Option<String> {
    let value = value.map(str::trim).filter(|q| !q.is_empty())?;
    if value.chars().count() > MAX_QUERY_CHARS {
        violations.push(FieldViolation::new("q", format!("must be at most {MAX_QUERY_CHARS} characters")));
    } else if value.contains('\0') {
        violations.push(FieldViolation::new("q", "must not contain NUL characters"));
    }
    Some(value.to_owned())
}

/// `Ok` when there is nothing to complain about.
pub(crate) fn check(violations: Vec<FieldViolation>) -> Result<(), WorkError> {
    if violations.is_empty() { Ok(()) } else { Err(WorkError::Validation(violations)) }
}

/// VERSION_MISMATCH when `expected` is given and differs from `current`.
pub(crate) fn check_version(expected: Option<i64>, current: i64) -> Result<(), WorkError> {
    match expected {
        Some(expected) if expected != current => Err(WorkError::VersionMismatch { expected, current }),
        _ => Ok(()),
    }
}
