//! The auth service's errors and their wire form.
//!
//! Every refusal is a variant of [`AuthError`] with its registry [`ErrorCode`] (the code, its
//! gRPC code, HTTP status and meaning are in `operant_platform::error::ErrorCode`); its `Display`
//! is the message sent. They are converted into [`ApiError`] in exactly one place
//! (`impl From<AuthError> for ApiError` below).
//!
//! Access tokens are checked by the platform before a handler runs (codes `TOKEN_*`, all 401);
//! internal RPCs without the service credential get 403 `SERVICE_ONLY`.

use std::time::Duration;

use operant_platform::error::{ApiError, ErrorCode, FieldViolation, from_diesel};

/// Everything that can go wrong in the auth domain.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("invalid request")]
    Validation(Vec<FieldViolation>),
    #[error("an account with this email already exists")]
    EmailTaken,
    #[error("invalid email or password")]
    InvalidCredentials,
    #[error("this account is deactivated")]
    InactiveUser,
    #[error("too many failed login attempts; retry later")]
    TooManyAttempts { retry_after: Duration },
    #[error("the refresh token is not valid")]
    InvalidRefreshToken,
    #[error("the refresh token was already used; the session has been revoked")]
    RefreshTokenReused,
    #[error("the refresh token has expired")]
    RefreshTokenExpired,
    #[error("the session has ended")]
    SessionRevoked,
    #[error("session not found")]
    SessionNotFound,
    #[error("the current password is not correct")]
    WrongPassword,
    #[error("the token is invalid or was already used")]
    InvalidToken,
    #[error("the token has expired")]
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
        let code = match e {
            Validation(violations) => return ApiError::validation(violations),
            Api(api) => return api,
            Database(e) => return from_diesel(e),
            Internal(cause) => return ApiError::internal(cause),
            EmailTaken => ErrorCode::EmailTaken,
            InvalidCredentials => ErrorCode::InvalidCredentials,
            InactiveUser => ErrorCode::InactiveUser,
            TooManyAttempts { .. } => ErrorCode::TooManyAttempts,
            InvalidRefreshToken => ErrorCode::InvalidRefreshToken,
            RefreshTokenReused => ErrorCode::RefreshTokenReused,
            RefreshTokenExpired => ErrorCode::RefreshTokenExpired,
            SessionRevoked => ErrorCode::SessionRevoked,
            SessionNotFound => ErrorCode::SessionNotFound,
            WrongPassword => ErrorCode::WrongPassword,
            InvalidToken => ErrorCode::InvalidToken,
            OneTimeTokenExpired => ErrorCode::OneTimeTokenExpired,
            UserNotFound => ErrorCode::UserNotFound,
        };
        let api = ApiError::new(code, e.to_string());
        match e {
            TooManyAttempts { retry_after } => api.with_retry_after(retry_after),
            _ => api,
        }
    }
}

impl From<AuthError> for tonic::Status {
    fn from(e: AuthError) -> Self {
        ApiError::from(e).into()
    }
}

pub type AuthResult<T> = Result<T, AuthError>;
