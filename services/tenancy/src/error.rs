//! The tenancy service's one error type. Every refusal the domain can produce is a variant with
//! a stable `error_code`; the single `From<TenancyError> for ApiError` below decides its gRPC
//! code and HTTP status, so handlers never build statuses by hand.

use operant_platform::error::{self, ApiError, FieldViolation};
use tonic::Code;

/// Everything that can go wrong in the tenancy service.
#[derive(Debug, thiserror::Error)]
pub enum TenancyError {
    /// Invalid request fields (422 `VALIDATION_ERROR`, each field named).
    #[error("invalid request")]
    Validation(Vec<FieldViolation>),
    /// The caller is not a member of the organization, or it does not exist (never revealed).
    #[error("not a member of this organization")]
    NotAMember,
    /// The caller's role does not allow the action.
    #[error("your role does not allow this: {0}")]
    InsufficientRole(&'static str),
    /// The action would leave the organization without an OWNER.
    #[error("an organization must keep at least one owner")]
    LastOwner,
    /// The user is already a member.
    #[error("the user is already a member of this organization")]
    AlreadyAMember,
    /// No member with that user id in the organization.
    #[error("no such member in this organization")]
    MemberNotFound,
    /// No user with that email.
    #[error("no user with this email")]
    UserNotFound,
    /// Another organization uses the slug.
    #[error("the slug is already taken")]
    SlugTaken,
    /// Adding would exceed the plan's limit.
    #[error("the plan allows at most {limit} {resource}")]
    PlanLimitReached { resource: &'static str, limit: i64 },
    /// A plan change that current usage exceeds; one violation per limit in the way.
    #[error("current usage exceeds the limits of the {plan} plan")]
    PlanLimitExceeded { plan: &'static str, violations: Vec<FieldViolation> },
    /// The plan does not include the feature.
    #[error("the {0} feature is not included in the organization's plan")]
    FeatureNotInPlan(&'static str),
    /// Another Operant service needed for the answer did not answer.
    #[error("the {0} service is unavailable; retry later")]
    ServiceUnavailable(&'static str),
    /// Errors that are already API errors (pool checkout, headers).
    #[error(transparent)]
    Api(#[from] ApiError),
    /// Unexpected database errors.
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
}

impl TenancyError {
    /// 422 for one field.
    pub fn invalid(field: &str, description: impl Into<String>) -> Self {
        TenancyError::Validation(vec![FieldViolation::new(field, description)])
    }

    /// The stable code of the error (the `ErrorInfo.reason`).
    pub fn error_code(&self) -> &'static str {
        match self {
            TenancyError::Validation(_) => "VALIDATION_ERROR",
            TenancyError::NotAMember => "NOT_A_MEMBER",
            TenancyError::InsufficientRole(_) => "INSUFFICIENT_ROLE",
            TenancyError::LastOwner => "LAST_OWNER",
            TenancyError::AlreadyAMember => "ALREADY_A_MEMBER",
            TenancyError::MemberNotFound => "MEMBER_NOT_FOUND",
            TenancyError::UserNotFound => "USER_NOT_FOUND",
            TenancyError::SlugTaken => "SLUG_TAKEN",
            TenancyError::PlanLimitReached { .. } => "PLAN_LIMIT_REACHED",
            TenancyError::PlanLimitExceeded { .. } => "PLAN_LIMIT_EXCEEDED",
            TenancyError::FeatureNotInPlan(_) => "FEATURE_NOT_IN_PLAN",
            TenancyError::ServiceUnavailable(_) => "SERVICE_UNAVAILABLE",
            TenancyError::Api(e) => e.error_code,
            TenancyError::Database(_) => "DATABASE_ERROR",
        }
    }
}

impl From<TenancyError> for ApiError {
    fn from(e: TenancyError) -> Self {
        let (grpc, http) = match e {
            TenancyError::Validation(violations) => return ApiError::validation(violations),
            TenancyError::Api(api) => return api,
            TenancyError::Database(db) => return error::from_diesel(db),
            TenancyError::NotAMember | TenancyError::InsufficientRole(_) => (Code::PermissionDenied, 403),
            TenancyError::FeatureNotInPlan(_) => (Code::PermissionDenied, 403),
            TenancyError::PlanLimitReached { .. } => (Code::ResourceExhausted, 403),
            TenancyError::LastOwner | TenancyError::PlanLimitExceeded { .. } => {
                (Code::FailedPrecondition, 409)
            }
            TenancyError::AlreadyAMember | TenancyError::SlugTaken => (Code::AlreadyExists, 409),
            TenancyError::MemberNotFound | TenancyError::UserNotFound => (Code::NotFound, 404),
            TenancyError::ServiceUnavailable(_) => (Code::Unavailable, 503),
        };
        let api = ApiError::new(grpc, http, e.error_code(), e.to_string());
        match e {
            TenancyError::PlanLimitExceeded { violations, .. } => api.with_violations(violations),
            TenancyError::ServiceUnavailable(_) => api.with_retry_after(std::time::Duration::from_secs(1)),
            _ => api,
        }
    }
}

impl From<TenancyError> for tonic::Status {
    fn from(e: TenancyError) -> Self {
        ApiError::from(e).into()
    }
}
