//! The tenancy service's one error type. Every refusal the domain can produce is a variant with
//! its registry [`ErrorCode`] (which fixes its gRPC code and HTTP status), its `Display` being the
//! message sent; the single `From<TenancyError> for ApiError` below names the code, so handlers
//! never build statuses by hand.

use operant_platform::error::{self, ApiError, ErrorCode, FieldViolation};

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
    /// The invited address (or the accepting user) is already a member.
    #[error("this address is already a member of this organization")]
    AlreadyMember,
    /// No member with that user id in the organization.
    #[error("no such member in this organization")]
    MemberNotFound,
    /// A live invitation for the address exists (resend it instead).
    #[error("this address already has a pending invitation; resend it instead")]
    InvitationPending,
    /// No such invitation in the organization, or addressed to the caller.
    #[error("no such invitation")]
    InvitationNotFound,
    /// The invitation is for another address than the caller's.
    #[error("this invitation is for another email address; sign in with the invited address")]
    InvitationEmailMismatch,
    /// The invitation is past its expiry.
    #[error("the invitation has expired; ask for a new one")]
    InvitationExpired,
    /// The invitation was accepted, declined or revoked.
    #[error("the invitation is no longer pending (accepted, declined or revoked)")]
    InvitationNotPending,
    /// The invitation token is unknown (or was replaced by a resend).
    #[error("the invitation token is invalid or no longer valid")]
    InvalidToken,
    /// In-app invitations need a verified email (anyone can register someone else's address).
    #[error("verify your email address first, or accept with the link of the invitation mail")]
    EmailNotVerified,
    /// No API key with that id in the organization (or it is already revoked).
    #[error("no such API key in this organization")]
    ApiKeyNotFound,
    /// Too many invalid API keys from the client address.
    #[error("too many invalid API keys from this address; retry later")]
    TooManyAttempts { retry_after: std::time::Duration },
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
}

impl From<TenancyError> for ApiError {
    fn from(e: TenancyError) -> Self {
        let code = match e {
            TenancyError::Validation(violations) => return ApiError::validation(violations),
            TenancyError::Api(api) => return api,
            TenancyError::Database(db) => return error::from_diesel(db),
            TenancyError::NotAMember => ErrorCode::NotAMember,
            TenancyError::InsufficientRole(_) => ErrorCode::InsufficientRole,
            TenancyError::LastOwner => ErrorCode::LastOwner,
            TenancyError::AlreadyMember => ErrorCode::AlreadyMember,
            TenancyError::MemberNotFound => ErrorCode::MemberNotFound,
            TenancyError::InvitationPending => ErrorCode::InvitationPending,
            TenancyError::InvitationNotFound => ErrorCode::InvitationNotFound,
            TenancyError::InvitationEmailMismatch => ErrorCode::InvitationEmailMismatch,
            TenancyError::InvitationExpired => ErrorCode::InvitationExpired,
            TenancyError::InvitationNotPending => ErrorCode::InvitationNotPending,
            TenancyError::InvalidToken => ErrorCode::InvalidToken,
            TenancyError::EmailNotVerified => ErrorCode::EmailNotVerified,
            TenancyError::UserNotFound => ErrorCode::UserNotFound,
            TenancyError::ApiKeyNotFound => ErrorCode::ApiKeyNotFound,
            TenancyError::TooManyAttempts { .. } => ErrorCode::TooManyAttempts,
            TenancyError::SlugTaken => ErrorCode::SlugTaken,
            TenancyError::PlanLimitReached { .. } => ErrorCode::PlanLimitReached,
            TenancyError::PlanLimitExceeded { .. } => ErrorCode::PlanLimitExceeded,
            TenancyError::FeatureNotInPlan(_) => ErrorCode::FeatureNotInPlan,
            TenancyError::ServiceUnavailable(_) => ErrorCode::ServiceUnavailable,
        };
        let api = ApiError::new(code, e.to_string());
        match e {
            TenancyError::PlanLimitExceeded { violations, .. } => api.with_violations(violations),
            TenancyError::ServiceUnavailable(_) => api.with_retry_after(std::time::Duration::from_secs(1)),
            TenancyError::TooManyAttempts { retry_after } => api.with_retry_after(retry_after),
            _ => api,
        }
    }
}

impl From<TenancyError> for tonic::Status {
    fn from(e: TenancyError) -> Self {
        ApiError::from(e).into()
    }
}
