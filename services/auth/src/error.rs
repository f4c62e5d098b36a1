//! The auth service's errors and their wire form.
//!
//! Every variant of [`AuthError`] has a stable `error_code` (the `ErrorInfo.reason` on gRPC, the
//! `error_code` of the REST body). They are converted into [`ApiError`] in exactly one place
//! (`impl From<AuthError> for ApiError` below), which fixes the gRPC code and HTTP status.
//!
//! | error_code               | HTTP | gRPC               | when                                                        |
//! |--------------------------|------|--------------------|-------------------------------------------------------------|
//! | `VALIDATION_ERROR`       | 422  | INVALID_ARGUMENT   | a request field is invalid (the field is named)             |
//! | `EMAIL_TAKEN`            | 409  | ALREADY_EXISTS     | register with an email that already has an account          |
//! | `INVALID_CREDENTIALS`    | 401  | UNAUTHENTICATED    | login with an unknown email or a wrong password             |
//! | `INACTIVE_USER`          | 403  | PERMISSION_DENIED  | login or refresh of a deactivated account                   |
//! | `TOO_MANY_ATTEMPTS`      | 429  | RESOURCE_EXHAUSTED | login throttled (per email and per client address); `Retry-After` / `RetryInfo` |
//! | `INVALID_REFRESH_TOKEN`  | 401  | UNAUTHENTICATED    | the refresh token is unknown or malformed                   |
//! | `REFRESH_TOKEN_REUSED`   | 401  | UNAUTHENTICATED    | an already rotated refresh token was presented; its session is revoked |
//! | `REFRESH_TOKEN_EXPIRED`  | 401  | UNAUTHENTICATED    | the refresh token (or its session) has expired              |
//! | `SESSION_REVOKED`        | 401  | UNAUTHENTICATED    | the refresh token belongs to a session that was ended       |
//! | `SESSION_NOT_FOUND`      | 404  | NOT_FOUND          | revoke a session that is not one of the caller's            |
//! | `WRONG_PASSWORD`         | 400  | INVALID_ARGUMENT   | change password with a wrong current password               |
//! | `INVALID_TOKEN`          | 400  | INVALID_ARGUMENT   | email verification / password reset token unknown or already used |
//! | `ONE_TIME_TOKEN_EXPIRED` | 400  | INVALID_ARGUMENT   | email verification / password reset token expired           |
//! | `USER_NOT_FOUND`         | 404  | NOT_FOUND          | the user does not exist (internal look-ups, deleted caller) |
//! | `DATABASE_UNAVAILABLE`   | 503  | UNAVAILABLE        | PostgreSQL cannot be reached                                 |
//! | `INTERNAL_ERROR`         | 500  | INTERNAL           | a bug; the cause is logged, never sent                       |
//!
//! Access tokens are checked by the platform before a handler runs; its codes (all 401,
//! UNAUTHENTICATED) are `TOKEN_MISSING`, `TOKEN_MALFORMED`, `TOKEN_ALGORITHM_NOT_ALLOWED`,
//! `TOKEN_UNKNOWN_KEY`, `TOKEN_SIGNATURE_INVALID`, `TOKEN_WRONG_AUDIENCE`, `TOKEN_WRONG_ISSUER`,
//! `TOKEN_EXPIRED`, `TOKEN_NOT_YET_VALID`, `TOKEN_WRONG_TYPE` and `TOKEN_REVOKED`; internal RPCs
//! without the service credential get 403 `SERVICE_ONLY`.

use std::time::Duration;

use operant_platform::error::{ApiError, FieldViolation, from_diesel};
use tonic::Code;

/// Everything that can go wrong in the auth domain.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("invalid request")]
    Validation(Vec<FieldViolation>),
    #[error("email already registered")]
    EmailTaken,
    #[error("invalid credentials")]
    InvalidCredentials,
    #[error("inactive user")]
    InactiveUser,
    #[error("too many attempts")]
    TooManyAttempts { retry_after: Duration },
    #[error("invalid refresh token")]
    InvalidRefreshToken,
    #[error("refresh token reused")]
    RefreshTokenReused,
    #[error("refresh token expired")]
    RefreshTokenExpired,
    #[error("session revoked")]
    SessionRevoked,
    #[error("session not found")]
    SessionNotFound,
    #[error("wrong password")]
    WrongPassword,
    #[error("invalid one-time token")]
    InvalidToken,
    #[error("one-time token expired")]
    OneTimeTokenExpired,
    #[error("user not found")]
    UserNotFound,
    /// An error already in its wire form (pool checkout, token verification).
    #[error("{0}")]
    Api(#[from] ApiError),
    #[error("database: {0}")]
    Database(#[from] diesel::result::Error),
    #[error("internal: {0}")]
    Internal(String),
}

impl AuthError {
    /// 422 for one field.
    pub fn invalid(field: &str, why: impl Into<String>) -> Self {
        AuthError::Validation(vec![FieldViolation::new(field, why)])
    }

    pub fn internal(cause: impl std::fmt::Display) -> Self {
        AuthError::Internal(cause.to_string())
    }
}

impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> Self {
        use AuthError::*;
        let unauth = |code, msg| ApiError::new(Code::Unauthenticated, 401, code, msg);
        match e {
            Validation(violations) => ApiError::validation(violations),
            EmailTaken => ApiError::new(
                Code::AlreadyExists,
                409,
                "EMAIL_TAKEN",
                "an account with this email already exists",
            ),
            InvalidCredentials => unauth("INVALID_CREDENTIALS", "invalid email or password"),
            InactiveUser => {
                ApiError::new(Code::PermissionDenied, 403, "INACTIVE_USER", "this account is deactivated")
            }
            TooManyAttempts { retry_after } => ApiError::new(
                Code::ResourceExhausted,
                429,
                "TOO_MANY_ATTEMPTS",
                "too many failed login attempts; retry later",
            )
            .with_retry_after(retry_after),
            InvalidRefreshToken => unauth("INVALID_REFRESH_TOKEN", "the refresh token is not valid"),
            RefreshTokenReused => unauth(
                "REFRESH_TOKEN_REUSED",
                "the refresh token was already used; the session has been revoked",
            ),
            RefreshTokenExpired => unauth("REFRESH_TOKEN_EXPIRED", "the refresh token has expired"),
            SessionRevoked => unauth("SESSION_REVOKED", "the session has ended"),
            SessionNotFound => ApiError::new(Code::NotFound, 404, "SESSION_NOT_FOUND", "session not found"),
            WrongPassword => ApiError::new(
                Code::InvalidArgument,
                400,
                "WRONG_PASSWORD",
                "the current password is not correct",
            ),
            InvalidToken => ApiError::new(
                Code::InvalidArgument,
                400,
                "INVALID_TOKEN",
                "the token is invalid or was already used",
            ),
            OneTimeTokenExpired => {
                ApiError::new(Code::InvalidArgument, 400, "ONE_TIME_TOKEN_EXPIRED", "the token has expired")
            }
            UserNotFound => ApiError::new(Code::NotFound, 404, "USER_NOT_FOUND", "user not found"),
            Api(api) => api,
            Database(e) => from_diesel(e),
            Internal(cause) => ApiError::internal(cause),
        }
    }
}

impl From<AuthError> for tonic::Status {
    fn from(e: AuthError) -> Self {
        ApiError::from(e).into()
    }
}

pub type AuthResult<T> = Result<T, AuthError>;
