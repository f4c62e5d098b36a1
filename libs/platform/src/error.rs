//! Errors as clients see them.
//!
//! Every error sent carries a stable code from the registry, [`ErrorCode`] (`codes.rs`: the code,
//! its gRPC code, its HTTP status and its meaning, the only place a code is spelled). The
//! `error_code` is the `google.rpc.ErrorInfo.reason` on gRPC and the `error_code` field of the REST
//! body. [`ApiError`] is a code plus the message and details; it converts into `tonic::Status` in
//! exactly one place ([`From<ApiError> for Status`]). The HTTP status travels in
//! `ErrorInfo.metadata["http_status"]` so the gateway never has to guess it from the gRPC code.
//!
//! Each service has one domain error enum and maps it the same way: one
//! `From<ServiceError> for ApiError` whose match returns at once for errors already in wire form
//! (`Validation` → [`ApiError::validation`], `Api`, `Database` → [`from_diesel`], a status
//! relayed from another service → [`ApiError::relayed`]) and otherwise names the variant's
//! [`ErrorCode`], the message being the variant's `Display`; details (field violations,
//! `RetryInfo`) are added after. `From<ServiceError> for Status` goes through it.
//!
//! Internal causes (database errors, bugs) are logged here with the request's span and replaced by
//! a generic message: they never reach the client.

mod codes;

pub use codes::ErrorCode;

use std::fmt;
use std::time::Duration;

use tonic::Status;
use tonic_types::{ErrorDetails, StatusExt};

/// The `ErrorInfo.domain` of every Operant error.
pub const ERROR_DOMAIN: &str = "operant";

/// One invalid request field, sent as a `google.rpc.BadRequest` field violation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldViolation {
    /// Field path, for example `email` or `page.limit`.
    pub field: String,
    /// What is wrong with it.
    pub description: String,
}

impl FieldViolation {
    pub fn new(field: impl Into<String>, description: impl Into<String>) -> Self {
        Self { field: field.into(), description: description.into() }
    }
}

/// An error ready to be sent: its registry code, message and details (its gRPC code and HTTP
/// status are the code's).
#[derive(Debug)]
pub struct ApiError {
    pub error_code: ErrorCode,
    pub message: String,
    pub violations: Vec<FieldViolation>,
    pub retry_after: Option<Duration>,
    /// Set when this is another Operant service's answer, sent on as it came.
    relayed: Option<Status>,
    /// A kept refusal answered again to a retry (`idempotent-replayed: true`).
    replayed: bool,
}

impl ApiError {
    pub fn new(error_code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            error_code,
            message: message.into(),
            violations: Vec::new(),
            retry_after: None,
            relayed: None,
            replayed: false,
        }
    }

    /// A refusal kept for an idempotency key, answered again to a retry: [`ApiError::relayed`]
    /// with the response metadata `idempotent-replayed: true`.
    pub fn replayed(status: Status) -> Self {
        Self { replayed: true, ..Self::relayed(status) }
    }

    /// An error status answered by another Operant service (one with `ErrorInfo`), to be sent
    /// on unchanged: same gRPC code, message and details (its `reason`, HTTP status, field
    /// violations), without its metadata. The caller already decided what the client sees, and
    /// re-encoding would lose its details. `error_code` is its reason when the registry knows it
    /// (a peer of a newer version may send one it does not: still relayed as it is).
    pub fn relayed(status: Status) -> Self {
        let error_code = error_code_of(&status)
            .and_then(|reason| ErrorCode::parse(&reason))
            .unwrap_or(ErrorCode::InternalError);
        Self { relayed: Some(status.clone()), ..Self::new(error_code, status.message()) }
    }

    /// 422 `VALIDATION_ERROR` naming the invalid fields.
    pub fn validation(violations: Vec<FieldViolation>) -> Self {
        let message = match violations.as_slice() {
            [one] => format!("{}: {}", one.field, one.description),
            many => format!(
                "invalid fields: {}",
                many.iter().map(|v| v.field.as_str()).collect::<Vec<_>>().join(", ")
            ),
        };
        Self { violations, ..Self::new(ErrorCode::ValidationError, message) }
    }

    /// 422 `VALIDATION_ERROR` for one field.
    pub fn invalid_field(field: impl Into<String>, description: impl Into<String>) -> Self {
        Self::validation(vec![FieldViolation::new(field, description)])
    }

    /// A 500 whose cause is logged but not sent.
    pub fn internal(cause: impl fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Self::new(ErrorCode::InternalError, "internal server error")
    }

    /// 503 `DATABASE_UNAVAILABLE`; the cause is logged.
    pub fn database_unavailable(cause: impl fmt::Display) -> Self {
        tracing::warn!(error = %cause, "database unavailable");
        Self::new(ErrorCode::DatabaseUnavailable, "the database is unavailable; retry later")
    }

    pub fn with_retry_after(mut self, after: Duration) -> Self {
        self.retry_after = Some(after);
        self
    }

    pub fn with_violations(mut self, violations: Vec<FieldViolation>) -> Self {
        self.violations = violations;
        self
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.error_code, self.message)
    }
}

impl std::error::Error for ApiError {}

/// Longest message or field description sent: messages travel in HTTP/2 headers, whose total
/// size is limited, and an error that quotes a huge input must not become a transport failure.
const MAX_TEXT: usize = 512;

fn bounded(text: String) -> String {
    if text.len() <= MAX_TEXT {
        return text;
    }
    let mut end = MAX_TEXT;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

impl From<ApiError> for Status {
    fn from(e: ApiError) -> Self {
        if let Some(status) = e.relayed {
            // A fresh status with the peer's code, message and details, but not its metadata.
            let mut fresh = Status::with_details(
                status.code(),
                status.message(),
                bytes::Bytes::copy_from_slice(status.details()),
            );
            if e.replayed {
                fresh.metadata_mut().insert(
                    // `headers::IDEMPOTENT_REPLAYED_HEADER` (a module of the same layer).
                    "idempotent-replayed",
                    tonic::metadata::MetadataValue::from_static("true"),
                );
            }
            return fresh;
        }
        let e = ApiError {
            message: bounded(e.message),
            violations: e
                .violations
                .into_iter()
                .map(|v| FieldViolation { field: bounded(v.field), description: bounded(v.description) })
                .collect(),
            ..e
        };
        let mut details = ErrorDetails::new();
        details.set_error_info(
            e.error_code.as_str(),
            ERROR_DOMAIN,
            [("http_status".to_owned(), e.error_code.http_status().to_string())],
        );
        for v in &e.violations {
            details.add_bad_request_violation(v.field.clone(), v.description.clone());
        }
        if let Some(after) = e.retry_after {
            details.set_retry_info(Some(after));
        }
        Status::with_error_details(e.error_code.grpc_code(), e.message, details)
    }
}

/// Maps a diesel error that the domain did not handle itself: connection and pool failures are
/// 503 `DATABASE_UNAVAILABLE`, anything else a logged 500.
pub fn from_diesel(e: diesel::result::Error) -> ApiError {
    use diesel::result::{DatabaseErrorKind, Error};
    match e {
        Error::DatabaseError(DatabaseErrorKind::ClosedConnection, info) => {
            ApiError::database_unavailable(info.message())
        }
        Error::DatabaseError(DatabaseErrorKind::Unknown, ref info)
            if info.message().contains("statement timeout")
                || info.message().contains("connection")
                || info.message().contains("terminating") =>
        {
            ApiError::database_unavailable(info.message())
        }
        Error::BrokenTransactionManager => ApiError::database_unavailable("broken transaction manager"),
        other => {
            // A dropped socket surfaces as a plain error text from tokio-postgres.
            let text = other.to_string();
            if text.contains("connection closed") || text.contains("error communicating") {
                ApiError::database_unavailable(text)
            } else {
                ApiError::internal(text)
            }
        }
    }
}

/// Reads the Operant `error_code` (the `ErrorInfo.reason`) of a status, if it has one.
pub fn error_code_of(status: &Status) -> Option<String> {
    status.get_error_details().error_info().map(|info| info.reason.clone())
}
