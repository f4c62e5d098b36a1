//! The one REST error shape: `{"detail", "error_code", "status_code"}` (plus `"errors"` with the
//! invalid fields when there are any), whatever produced the error.
//!
//! Errors come from three places and all end up here as an [`HttpError`]:
//! - the gRPC services: [`HttpError::from_status`] reads `google.rpc.ErrorInfo` (its `reason` is
//!   the `error_code`, its `metadata["http_status"]` the HTTP status, set by
//!   `operant_platform::error`), `BadRequest` field violations and `RetryInfo` (→ `Retry-After`).
//!   A status without `ErrorInfo` is a transport or framework failure and is mapped by gRPC code,
//!   without leaking its message (503 `SERVICE_UNAVAILABLE`, 504 `UPSTREAM_TIMEOUT`, ...);
//! - the gateway's own extractors (`extract.rs`): malformed JSON, wrong content type, bad
//!   parameters, oversized bodies;
//! - routing and panics (`lib.rs`): unknown routes, wrong methods, a panicking handler.

use std::time::Duration;

use axum::Json;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use operant_platform::error::ErrorCode;
use serde::Serialize;
use tonic::Code;
use tonic_types::StatusExt;
use utoipa::ToSchema;

/// One invalid field of a request.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq, Eq)]
pub struct FieldError {
    /// The field, for example `email`, `limit` or `X-Organization-Id`.
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

/// Body of every error response.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({"detail": "project not found", "error_code": "PROJECT_NOT_FOUND", "status_code": 404}))]
pub struct ApiErrorBody {
    /// Human-readable explanation.
    pub detail: String,
    /// Stable, machine-readable SCREAMING_SNAKE code, for example `VALIDATION_ERROR`.
    pub error_code: String,
    /// The HTTP status, repeated in the body.
    pub status_code: u16,
    /// The invalid fields, present on validation errors only.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

/// Put in the extensions of an error response the gateway made itself rather than relayed from a
/// service (see `auth_first`, which answers those only after checking the caller).
#[derive(Debug, Clone, Copy)]
pub struct GatewayRejection;

/// An error response: status, body and an optional `Retry-After`.
#[derive(Debug, Clone)]
pub struct HttpError {
    pub status: StatusCode,
    pub body: ApiErrorBody,
    pub retry_after: Option<Duration>,
    /// A refusal kept for the request's `Idempotency-Key`, answered again
    /// (`Idempotent-Replayed: true`).
    pub replayed: bool,
    /// Whether a service gave this answer (otherwise the gateway refused the request itself:
    /// the response carries [`GatewayRejection`]).
    pub from_upstream: bool,
}

pub type HttpResult<T> = Result<T, HttpError>;

impl HttpError {
    /// An error of the registry, with the code's HTTP status.
    pub fn new(code: ErrorCode, detail: impl Into<String>) -> Self {
        let status = StatusCode::from_u16(code.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        Self::from_parts(status, code.as_str(), detail)
    }

    /// An error with the status and code given as they are: a service's answer (whose code and
    /// status come from its `ErrorInfo`), or a framework error body replaced by the safety net.
    pub fn from_parts(status: StatusCode, error_code: &str, detail: impl Into<String>) -> Self {
        Self {
            status,
            body: ApiErrorBody {
                detail: detail.into(),
                error_code: error_code.to_owned(),
                status_code: status.as_u16(),
                errors: Vec::new(),
            },
            retry_after: None,
            replayed: false,
            from_upstream: false,
        }
    }

    /// 422 `VALIDATION_ERROR` naming one field.
    pub fn validation(field: impl Into<String>, message: impl Into<String>) -> Self {
        let (field, message) = (field.into(), message.into());
        let mut e = Self::new(ErrorCode::ValidationError, format!("{field}: {message}"));
        e.body.errors.push(FieldError { field, message });
        e
    }

    pub fn not_found() -> Self {
        Self::new(ErrorCode::NotFound, "no such route")
    }

    pub fn internal() -> Self {
        Self::new(ErrorCode::InternalError, "internal server error")
    }

    pub fn unavailable() -> Self {
        Self::new(ErrorCode::ServiceUnavailable, "an upstream service is unavailable; retry later")
    }

    pub fn timeout() -> Self {
        Self::new(ErrorCode::UpstreamTimeout, "an upstream service did not answer in time")
    }

    /// Maps a gRPC status of a service to the REST error.
    pub fn from_status(status: &tonic::Status) -> Self {
        Self { from_upstream: true, ..Self::from_status_details(status) }
    }

    fn from_status_details(status: &tonic::Status) -> Self {
        let details = status.get_error_details();
        let Some(info) = details.error_info() else {
            return Self::from_bare_status(status);
        };
        let http = info
            .metadata
            .get("http_status")
            .and_then(|s| s.parse::<u16>().ok())
            .and_then(|c| StatusCode::from_u16(c).ok())
            .unwrap_or_else(|| fallback_status(status.code()));
        let mut e = Self::from_parts(http, &info.reason, status.message());
        e.replayed = status
            .metadata()
            .get(operant_platform::headers::IDEMPOTENT_REPLAYED_HEADER)
            .is_some_and(|v| v.as_encoded_bytes() == b"true");
        if let Some(bad) = details.bad_request() {
            e.body.errors = bad
                .field_violations
                .iter()
                .map(|v| FieldError { field: v.field.clone(), message: v.description.clone() })
                .collect();
        }
        e.retry_after = details.retry_info().and_then(|r| r.retry_delay);
        if e.retry_after.is_none() && http == StatusCode::TOO_MANY_REQUESTS {
            e.retry_after = Some(Duration::from_secs(1));
        }
        e
    }

    /// A status without `ErrorInfo`: transport failures, timeouts, unimplemented methods. Its
    /// message may carry internal details and is only logged.
    fn from_bare_status(status: &tonic::Status) -> Self {
        // A status made on this side from a broken connection (the service died mid-call)
        // carries its transport error as source; the service never answered, so it is
        // unavailable, whatever code the client library picked.
        let timed_out = status.code() == Code::DeadlineExceeded
            || (status.code() == Code::Cancelled
                && status.message().to_ascii_lowercase().contains("timeout"));
        if timed_out {
            return Self::timeout();
        }
        if std::error::Error::source(status).is_some() {
            tracing::warn!(code = ?status.code(), message = status.message(), "upstream connection failed");
            return Self::unavailable();
        }
        match status.code() {
            Code::Unavailable => {
                tracing::warn!(message = status.message(), "upstream unavailable");
                Self::unavailable()
            }
            Code::DeadlineExceeded => Self::timeout(),
            Code::Cancelled if status.message().to_ascii_lowercase().contains("timeout") => Self::timeout(),
            Code::Unimplemented => {
                Self::new(ErrorCode::NotImplemented, "this operation is not available yet")
            }
            Code::Unauthenticated => Self::new(ErrorCode::Unauthenticated, status.message()),
            Code::PermissionDenied => Self::new(ErrorCode::PermissionDenied, status.message()),
            Code::NotFound => Self::new(ErrorCode::NotFound, status.message()),
            Code::InvalidArgument => Self::new(ErrorCode::BadRequest, status.message()),
            Code::ResourceExhausted => {
                let mut e = Self::new(ErrorCode::TooManyRequests, status.message());
                e.retry_after = Some(Duration::from_secs(1));
                e
            }
            code => {
                tracing::error!(?code, message = status.message(), "upstream failed without error details");
                let mut e = Self::internal();
                e.status = fallback_status(code);
                e.body.status_code = e.status.as_u16();
                e
            }
        }
    }
}

/// gRPC code → HTTP status, for statuses that do not name their HTTP status.
pub fn fallback_status(code: Code) -> StatusCode {
    match code {
        Code::Ok => StatusCode::OK,
        Code::InvalidArgument | Code::OutOfRange | Code::FailedPrecondition => StatusCode::BAD_REQUEST,
        Code::Unauthenticated => StatusCode::UNAUTHORIZED,
        Code::PermissionDenied => StatusCode::FORBIDDEN,
        Code::NotFound => StatusCode::NOT_FOUND,
        Code::AlreadyExists | Code::Aborted => StatusCode::CONFLICT,
        Code::ResourceExhausted => StatusCode::TOO_MANY_REQUESTS,
        Code::Unimplemented => StatusCode::NOT_IMPLEMENTED,
        Code::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        Code::DeadlineExceeded => StatusCode::GATEWAY_TIMEOUT,
        Code::Cancelled | Code::Unknown | Code::Internal | Code::DataLoss => {
            StatusCode::INTERNAL_SERVER_ERROR
        }
    }
}

impl From<tonic::Status> for HttpError {
    fn from(status: tonic::Status) -> Self {
        Self::from_status(&status)
    }
}

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(self.body)).into_response();
        if self.replayed {
            response.headers_mut().insert("idempotent-replayed", HeaderValue::from_static("true"));
        }
        if let Some(after) = self.retry_after {
            // Whole seconds, rounded up: a client must never retry too early.
            let secs = after.as_secs() + u64::from(after.subsec_nanos() > 0);
            if let Ok(value) = HeaderValue::from_str(&secs.max(1).to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
        }
        if !self.from_upstream {
            response.extensions_mut().insert(GatewayRejection);
        }
        response
    }
}
