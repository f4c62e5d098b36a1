//! The events service's one error enum and its single mapping to [`ApiError`] (and so to
//! `tonic::Status`). Errors answered by tenancy are relayed unchanged, like the work service's.

use operant_platform::error::{ApiError, ErrorCode, FieldViolation, from_diesel};
use tonic::Status;

/// Everything that can go wrong in the events service.
#[derive(Debug, thiserror::Error)]
pub enum EventsError {
    /// 403 `INSUFFICIENT_ROLE`: the feed is for ADMIN+ of the organization.
    #[error("only an owner or admin of the organization may read its events")]
    NotAdmin,
    /// 403 `INSUFFICIENT_ROLE`: webhooks are managed by ADMIN+ of the organization.
    #[error("only an owner or admin of the organization may manage its webhooks")]
    NotWebhookAdmin,
    /// 403 `FEATURE_NOT_IN_PLAN`: the plan lacks the `webhooks` feature.
    #[error("the organization's plan does not include webhooks (upgrade to PRO)")]
    WebhooksNotInPlan,
    /// 404 `WEBHOOK_NOT_FOUND`.
    #[error("no such webhook endpoint in the organization")]
    WebhookNotFound,
    /// 409 `WEBHOOK_LIMIT_REACHED`.
    #[error("the organization already has {0} webhook endpoints, the most it may have")]
    WebhookLimitReached(i64),
    /// A sealed secret that does not open (wrong master key, altered row): a 500, logged.
    #[error("a webhook secret could not be sealed or opened: {0}")]
    Seal(#[from] operant_seal::SealError),
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

impl EventsError {
    /// 422 for one field.
    pub fn invalid(field: impl Into<String>, why: impl Into<String>) -> Self {
        EventsError::Validation(vec![FieldViolation::new(field, why)])
    }
}

impl From<EventsError> for ApiError {
    fn from(e: EventsError) -> Self {
        match e {
            EventsError::Validation(violations) => ApiError::validation(violations),
            EventsError::Tenancy(status) => ApiError::relayed(status),
            EventsError::Database(e) => from_diesel(e),
            EventsError::Api(e) => e,
            EventsError::NotAdmin | EventsError::NotWebhookAdmin => {
                ApiError::new(ErrorCode::InsufficientRole, e.to_string())
            }
            EventsError::WebhooksNotInPlan => ApiError::new(ErrorCode::FeatureNotInPlan, e.to_string()),
            EventsError::WebhookNotFound => ApiError::new(ErrorCode::WebhookNotFound, e.to_string()),
            EventsError::WebhookLimitReached(_) => {
                ApiError::new(ErrorCode::WebhookLimitReached, e.to_string())
            }
            EventsError::Seal(e) => ApiError::internal(format!("webhook secret: {e}")),
            EventsError::TenancyUnavailable => {
                tracing::warn!("tenancy service unreachable");
                ApiError::new(ErrorCode::ServiceUnavailable, e.to_string())
                    .with_retry_after(std::time::Duration::from_secs(1))
            }
        }
    }
}

impl From<EventsError> for Status {
    fn from(e: EventsError) -> Self {
        ApiError::from(e).into()
    }
}
