//! The work service's one error enum and its single mapping to [`ApiError`] (and so to
//! `tonic::Status`).
//!
//! Every refusal is a variant with its registry [`ErrorCode`], its `Display` being the message
//! sent. Errors of the tenancy service (for example 403 `NOT_A_MEMBER` from `Authorize`) take the
//! same path as [`ApiError::relayed`]: they reach the client unchanged — same gRPC code, message
//! and details — because tenancy already decided what the client should see, and re-encoding
//! would lose its details.

use operant_platform::error::{ApiError, ErrorCode, FieldViolation, from_diesel};
use tonic::Status;

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
    /// A refusal that rested on a cached standing (see [`crate::model::Standing::refuse`]): the
    /// transport asks tenancy afresh and runs the call again, so it reaches no client. Were it
    /// to, it would be 503 `SERVICE_UNAVAILABLE`, which a client may retry.
    #[error("the caller's standing changed; try again")]
    StaleStanding,
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
        let code = match e {
            WorkError::Validation(violations) => return ApiError::validation(violations),
            WorkError::Tenancy(status) => return ApiError::relayed(status),
            WorkError::Database(e) => return from_diesel(e),
            WorkError::Api(e) => return e,
            WorkError::ProjectNotFound => ErrorCode::ProjectNotFound,
            WorkError::TaskNotFound => ErrorCode::TaskNotFound,
            WorkError::InsufficientRole(_) => ErrorCode::InsufficientRole,
            WorkError::PlanLimitReached { .. } => ErrorCode::PlanLimitReached,
            WorkError::VersionMismatch { .. } => ErrorCode::VersionMismatch,
            WorkError::AssigneeNotMember => ErrorCode::AssigneeNotMember,
            WorkError::TenancyUnavailable => {
                tracing::warn!("tenancy service unreachable");
                ErrorCode::ServiceUnavailable
            }
            WorkError::StaleStanding => {
                tracing::warn!("a refusal on a cached standing reached the client");
                ErrorCode::ServiceUnavailable
            }
        };
        let api = ApiError::new(code, e.to_string());
        match e {
            WorkError::AssigneeNotMember => api.with_violations(vec![FieldViolation::new(
                "assignee_id",
                "not a member of the organization",
            )]),
            WorkError::TenancyUnavailable => api.with_retry_after(std::time::Duration::from_secs(1)),
            _ => api,
        }
    }
}

impl From<WorkError> for Status {
    fn from(e: WorkError) -> Self {
        ApiError::from(e).into()
    }
}
