//! The work service's one error enum and its single mapping to [`ApiError`] (and so to
//! `tonic::Status`).
//!
//! Every variant has a stable `error_code`. Errors of the tenancy service (for example 403
//! `NOT_A_MEMBER` from `Authorize`) are the one exception to "map through [`ApiError`]": they are
//! relayed to the client unchanged — same gRPC code, message and details — because tenancy
//! already decided what the client should see, and re-encoding would lose its details.

use operant_platform::error::{ApiError, FieldViolation, from_diesel};
use tonic::{Code, Status};

/// Everything that can go wrong in the work service.
#[derive(Debug, thiserror::Error)]
pub enum WorkError {
    /// 404 `PROJECT_NOT_FOUND`: no such project in the caller's organization.
    #[error("project not found")]
    ProjectNotFound,
    /// 404 `TASK_NOT_FOUND`: no such task in the caller's organization.
    #[error("task not found")]
    TaskNotFound,
    /// 403 `INSUFFICIENT_ROLE`: the caller's role (and authorship) does not allow this.
    #[error("{0}")]
    InsufficientRole(&'static str),
    /// 403 `PLAN_LIMIT_REACHED`: the plan's project limit is used up.
    #[error("the plan allows at most {max} projects")]
    PlanLimitReached { max: i64 },
    /// 412 `VERSION_MISMATCH` (gRPC ABORTED): `expected_version` is stale.
    #[error("the resource is at version {current}, not {expected}")]
    VersionMismatch { expected: i64, current: i64 },
    /// 422 `ASSIGNEE_NOT_MEMBER`: the assignee is not a member of the organization.
    #[error("the assignee is not a member of the organization")]
    AssigneeNotMember,
    /// 422 `VALIDATION_ERROR` naming the fields.
    #[error("invalid request")]
    Validation(Vec<FieldViolation>),
    /// 503 `SERVICE_UNAVAILABLE`: the tenancy service could not be reached.
    #[error("the tenancy service is unavailable")]
    TenancyUnavailable,
    /// An error status answered by the tenancy service, relayed unchanged.
    #[error("tenancy: {0}")]
    Tenancy(Status),
    /// A database error the domain did not expect.
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
    /// An [`ApiError`] raised by the platform (pool checkout, ...).
    #[error(transparent)]
    Api(#[from] ApiError),
}

impl WorkError {
    /// 422 for one field.
    pub fn invalid(field: impl Into<String>, why: impl Into<String>) -> Self {
        WorkError::Validation(vec![FieldViolation::new(field, why)])
    }
}

impl From<WorkError> for ApiError {
    fn from(e: WorkError) -> Self {
        match e {
            WorkError::ProjectNotFound => {
                ApiError::new(Code::NotFound, 404, "PROJECT_NOT_FOUND", "project not found")
            }
            WorkError::TaskNotFound => ApiError::new(Code::NotFound, 404, "TASK_NOT_FOUND", "task not found"),
            WorkError::InsufficientRole(why) => {
                ApiError::new(Code::PermissionDenied, 403, "INSUFFICIENT_ROLE", why)
            }
            e @ WorkError::PlanLimitReached { .. } => {
                ApiError::new(Code::ResourceExhausted, 403, "PLAN_LIMIT_REACHED", e.to_string())
            }
            e @ WorkError::VersionMismatch { .. } => {
                ApiError::new(Code::Aborted, 412, "VERSION_MISMATCH", e.to_string())
            }
            e @ WorkError::AssigneeNotMember => {
                ApiError::new(Code::InvalidArgument, 422, "ASSIGNEE_NOT_MEMBER", e.to_string())
                    .with_violations(vec![FieldViolation::new(
                        "assignee_id",
                        "not a member of the organization",
                    )])
            }
            WorkError::Validation(violations) => ApiError::validation(violations),
            e @ WorkError::TenancyUnavailable => {
                tracing::warn!("tenancy service unreachable");
                ApiError::new(Code::Unavailable, 503, "SERVICE_UNAVAILABLE", e.to_string())
                    .with_retry_after(std::time::Duration::from_secs(1))
            }
            // Only reached when someone needs an ApiError rather than a Status; the transport
            // relays the original status (see `From<WorkError> for Status`).
            WorkError::Tenancy(status) => {
                let http = match status.code() {
                    Code::PermissionDenied => 403,
                    Code::NotFound => 404,
                    Code::Unauthenticated => 401,
                    Code::InvalidArgument => 422,
                    Code::Unavailable => 503,
                    _ => 500,
                };
                ApiError::new(status.code(), http, "UPSTREAM_ERROR", status.message())
            }
            WorkError::Database(e) => from_diesel(e),
            WorkError::Api(e) => e,
        }
    }
}

impl From<WorkError> for Status {
    fn from(e: WorkError) -> Self {
        match e {
            // A fresh status with tenancy's code, message and details, but not its metadata.
            WorkError::Tenancy(status) => Status::with_details(
                status.code(),
                status.message(),
                tonic::codegen::Bytes::copy_from_slice(status.details()),
            ),
            other => ApiError::from(other).into(),
        }
    }
}
