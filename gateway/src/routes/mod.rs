//! REST handlers, one module per resource. Each handler only maps: JSON/query/path → protobuf
//! request, forwarded metadata in, protobuf response → JSON out. Every rule (permissions,
//! validation of values, limits) lives in the services.

pub mod auth;
pub mod health;
pub mod members;
pub mod organizations;
pub mod projects;
pub mod subscription;
pub mod tasks;
pub mod users;

use crate::error::{HttpError, HttpResult};

/// A field the service must always fill; its absence is a service bug (logged 500).
pub(crate) fn required<T>(value: Option<T>, what: &str) -> HttpResult<T> {
    value.ok_or_else(|| {
        tracing::error!(what, "service answered without a required field");
        HttpError::internal()
    })
}

/// Rejects an explicit `null` for a field that cannot be cleared.
pub(crate) fn not_null<T>(body_has_key: bool, value: &Option<T>, field: &str) -> HttpResult<()> {
    if body_has_key && value.is_none() {
        return Err(HttpError::validation(field, "may not be null"));
    }
    Ok(())
}
