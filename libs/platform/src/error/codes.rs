//! The registry of error codes: every `error_code` Operant sends (the `ErrorInfo.reason` on
//! gRPC, the `error_code` field of a REST body), with the gRPC code and HTTP status it is sent
//! with and what it means. This table is the only place a code is spelled: services name a code
//! by its [`ErrorCode`] variant, and [`ApiError::new`](super::ApiError::new) takes the statuses
//! from here, so no call site can send a code with another status.
//!
//! Codes are a public contract: a code is never renamed or given another status. One no longer
//! sent moves to [`ErrorCode::RESERVED`] rather than disappearing. The README's error table and the
//! OpenAPI error responses are checked against this table (`tests/error_codes.rs`,
//! `gateway/src/openapi_errors.rs`).

use tonic::Code;

macro_rules! registry {
    ($($variant:ident = $code:literal, $grpc:ident, $http:literal, $meaning:literal;)*) => {
        /// One error code of the registry (see the module doc).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum ErrorCode {
            $(
                #[doc = $meaning]
                $variant,
            )*
        }

        impl ErrorCode {
            /// Every code, in registry order.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant),*];

            /// The stable SCREAMING_SNAKE spelling sent on the wire.
            pub const fn as_str(self) -> &'static str {
                match self { $(ErrorCode::$variant => $code,)* }
            }

            /// The gRPC status code it is sent with.
            pub const fn grpc_code(self) -> Code {
                match self { $(ErrorCode::$variant => Code::$grpc,)* }
            }

            /// The HTTP status it is sent with (REST, and `ErrorInfo.metadata["http_status"]`).
            pub const fn http_status(self) -> u16 {
                match self { $(ErrorCode::$variant => $http,)* }
            }

            /// What it means, in one line.
            pub const fn meaning(self) -> &'static str {
                match self { $(ErrorCode::$variant => $meaning,)* }
            }
        }
    };
}

registry! {
    // Any service: requests, the platform, the database.
    ValidationError = "VALIDATION_ERROR", InvalidArgument, 422, "a request field or parameter is invalid (each one named in `errors`)";
    InternalError = "INTERNAL_ERROR", Internal, 500, "a bug; the cause is logged, never sent";
    DatabaseUnavailable = "DATABASE_UNAVAILABLE", Unavailable, 503, "PostgreSQL cannot be reached; retry later";
    ServiceUnavailable = "SERVICE_UNAVAILABLE", Unavailable, 503, "another Operant service is unreachable; retry later (`Retry-After`)";
    OrganizationRequired = "ORGANIZATION_REQUIRED", InvalidArgument, 400, "the `X-Organization-Id` header is missing";
    InvalidOrganizationId = "INVALID_ORGANIZATION_ID", InvalidArgument, 400, "the `X-Organization-Id` header is not a UUID";
    InvalidPageToken = "INVALID_PAGE_TOKEN", InvalidArgument, 400, "`page_token` was altered, or is not a `next_page_token` of this list with the same filters and order";
    ServiceOnly = "SERVICE_ONLY", PermissionDenied, 403, "an internal RPC called without the service credential";
    // Safe retries (`Idempotency-Key` / `request_id`), in every service that owns an effect.
    InvalidIdempotencyKey = "INVALID_IDEMPOTENCY_KEY", InvalidArgument, 400, "the `Idempotency-Key` (`request_id`) is not 1 to 255 visible ASCII characters";
    IdempotencyInFlight = "IDEMPOTENCY_IN_FLIGHT", Aborted, 409, "a request with this `Idempotency-Key` is still running; retry later (`Retry-After`)";
    IdempotencyKeyReused = "IDEMPOTENCY_KEY_REUSED", FailedPrecondition, 422, "the `Idempotency-Key` was already used for a different request";
    // Access tokens, checked by every service before a handler runs.
    TokenMissing = "TOKEN_MISSING", Unauthenticated, 401, "no access token was presented";
    TokenMalformed = "TOKEN_MALFORMED", Unauthenticated, 401, "the access token (or the `Authorization` header) is not well-formed";
    TokenAlgorithmNotAllowed = "TOKEN_ALGORITHM_NOT_ALLOWED", Unauthenticated, 401, "the access token is not signed with EdDSA";
    TokenUnknownKey = "TOKEN_UNKNOWN_KEY", Unauthenticated, 401, "the access token's signing key is unknown or retired";
    TokenSignatureInvalid = "TOKEN_SIGNATURE_INVALID", Unauthenticated, 401, "the access token's signature is invalid";
    TokenWrongAudience = "TOKEN_WRONG_AUDIENCE", Unauthenticated, 401, "the access token is for another audience";
    TokenWrongIssuer = "TOKEN_WRONG_ISSUER", Unauthenticated, 401, "the access token comes from another issuer";
    TokenExpired = "TOKEN_EXPIRED", Unauthenticated, 401, "the access token has expired";
    TokenNotYetValid = "TOKEN_NOT_YET_VALID", Unauthenticated, 401, "the access token is not valid yet";
    TokenWrongType = "TOKEN_WRONG_TYPE", Unauthenticated, 401, "not an access token (a refresh token, for example)";
    TokenRevoked = "TOKEN_REVOKED", Unauthenticated, 401, "the access token's session has ended";
    // Organization API keys (`Bearer opk_…`), checked by every service before a handler runs.
    ApiKeyMalformed = "API_KEY_MALFORMED", Unauthenticated, 401, "the API key is not `opk_` followed by 43 base64url characters";
    ApiKeyUnknown = "API_KEY_UNKNOWN", Unauthenticated, 401, "no such API key (forged, or its organization was deleted)";
    ApiKeyExpired = "API_KEY_EXPIRED", Unauthenticated, 401, "the API key has expired";
    ApiKeyRevoked = "API_KEY_REVOKED", Unauthenticated, 401, "the API key has been revoked";
    ApiKeyNotAllowed = "API_KEY_NOT_ALLOWED", PermissionDenied, 403, "a person-only operation (profile, password, sessions, organization list and creation, invitations) called with an API key";
    // The auth service.
    EmailTaken = "EMAIL_TAKEN", AlreadyExists, 409, "an account with this email already exists";
    InvalidCredentials = "INVALID_CREDENTIALS", Unauthenticated, 401, "login with an unknown email or a wrong password";
    InactiveUser = "INACTIVE_USER", PermissionDenied, 403, "login or refresh of a deactivated account";
    TooManyAttempts = "TOO_MANY_ATTEMPTS", ResourceExhausted, 429, "login throttled (per email and per client address), or too many invalid API keys from the client address; `Retry-After`";
    InvalidRefreshToken = "INVALID_REFRESH_TOKEN", Unauthenticated, 401, "the refresh token is unknown or malformed";
    RefreshTokenReused = "REFRESH_TOKEN_REUSED", Unauthenticated, 401, "an already rotated refresh token was presented; its session is revoked";
    RefreshTokenExpired = "REFRESH_TOKEN_EXPIRED", Unauthenticated, 401, "the refresh token (or its session) has expired";
    SessionRevoked = "SESSION_REVOKED", Unauthenticated, 401, "the refresh token belongs to a session that was ended";
    SessionNotFound = "SESSION_NOT_FOUND", NotFound, 404, "the session is not one of the caller's";
    WrongPassword = "WRONG_PASSWORD", InvalidArgument, 400, "password change with a wrong current password";
    InvalidToken = "INVALID_TOKEN", InvalidArgument, 400, "email verification, password reset or invitation token unknown or already used";
    OneTimeTokenExpired = "ONE_TIME_TOKEN_EXPIRED", InvalidArgument, 400, "email verification or password reset token expired";
    UserNotFound = "USER_NOT_FOUND", NotFound, 404, "no such user";
    // The tenancy service.
    NotAMember = "NOT_A_MEMBER", PermissionDenied, 403, "the caller is not a member of the organization (or it does not exist)";
    InsufficientRole = "INSUFFICIENT_ROLE", PermissionDenied, 403, "the caller's role does not allow this";
    FeatureNotInPlan = "FEATURE_NOT_IN_PLAN", PermissionDenied, 403, "the organization's plan does not include the feature";
    PlanLimitReached = "PLAN_LIMIT_REACHED", ResourceExhausted, 403, "the plan's limit (members, projects) is used up";
    PlanLimitExceeded = "PLAN_LIMIT_EXCEEDED", FailedPrecondition, 409, "a plan change that current usage exceeds (each limit named in `errors`)";
    LastOwner = "LAST_OWNER", FailedPrecondition, 409, "the organization would be left without an owner";
    AlreadyAMember = "ALREADY_A_MEMBER", AlreadyExists, 409, "reserved: the user is already a member (the answer of the earlier `AddMember`; now `ALREADY_MEMBER`)";
    AlreadyMember = "ALREADY_MEMBER", AlreadyExists, 409, "the invited address (or the accepting user) is already a member";
    InvitationPending = "INVITATION_PENDING", AlreadyExists, 409, "a pending invitation for this address exists (resend it instead)";
    InvitationNotFound = "INVITATION_NOT_FOUND", NotFound, 404, "no such invitation in the organization (or for the caller)";
    InvitationEmailMismatch = "INVITATION_EMAIL_MISMATCH", PermissionDenied, 403, "the invitation is for another email address than the caller's";
    InvitationExpired = "INVITATION_EXPIRED", FailedPrecondition, 410, "the invitation has expired (ask for a new one)";
    InvitationNotPending = "INVITATION_NOT_PENDING", FailedPrecondition, 410, "the invitation was already accepted, declined or revoked";
    EmailNotVerified = "EMAIL_NOT_VERIFIED", PermissionDenied, 403, "the caller's email address is not verified (accept with the mailed link, or verify first)";
    SlugTaken = "SLUG_TAKEN", AlreadyExists, 409, "another organization uses the slug";
    MemberNotFound = "MEMBER_NOT_FOUND", NotFound, 404, "no such member in the organization";
    ApiKeyNotFound = "API_KEY_NOT_FOUND", NotFound, 404, "no such API key in the organization (or already revoked)";
    // The work service.
    ProjectNotFound = "PROJECT_NOT_FOUND", NotFound, 404, "no such project in the organization";
    TaskNotFound = "TASK_NOT_FOUND", NotFound, 404, "no such task in the organization";
    VersionMismatch = "VERSION_MISMATCH", Aborted, 412, "`If-Match` / `expected_version` is stale";
    AssigneeNotMember = "ASSIGNEE_NOT_MEMBER", InvalidArgument, 422, "the assignee is not a member of the organization";
    // The events service.
    WebhookNotFound = "WEBHOOK_NOT_FOUND", NotFound, 404, "no such webhook endpoint in the organization";
    WebhookLimitReached = "WEBHOOK_LIMIT_REACHED", FailedPrecondition, 409, "the organization already has the most webhook endpoints (10)";
    // The REST gateway: its own requests, and upstream failures without error details.
    InvalidJson = "INVALID_JSON", InvalidArgument, 400, "the body is not well-formed JSON (malformed, truncated, duplicate keys)";
    InvalidBody = "INVALID_BODY", InvalidArgument, 400, "the body could not be read";
    PayloadTooLarge = "PAYLOAD_TOO_LARGE", OutOfRange, 413, "the body exceeds the size limit";
    UnsupportedMediaType = "UNSUPPORTED_MEDIA_TYPE", InvalidArgument, 415, "the body is not `application/json`";
    NotFound = "NOT_FOUND", NotFound, 404, "no such route (or an upstream NOT_FOUND without details)";
    MethodNotAllowed = "METHOD_NOT_ALLOWED", Unimplemented, 405, "the route does not take this method";
    UpstreamTimeout = "UPSTREAM_TIMEOUT", DeadlineExceeded, 504, "a service did not answer in time";
    NotImplemented = "NOT_IMPLEMENTED", Unimplemented, 501, "a service does not implement the operation";
    BadRequest = "BAD_REQUEST", InvalidArgument, 400, "an upstream INVALID_ARGUMENT without details";
    Unauthenticated = "UNAUTHENTICATED", Unauthenticated, 401, "an upstream UNAUTHENTICATED without details";
    PermissionDenied = "PERMISSION_DENIED", PermissionDenied, 403, "an upstream PERMISSION_DENIED without details";
    TooManyRequests = "TOO_MANY_REQUESTS", ResourceExhausted, 429, "an upstream RESOURCE_EXHAUSTED without details; `Retry-After`";
}

impl ErrorCode {
    /// Codes kept in the registry (never reused for something else) that nothing sends any more.
    pub const RESERVED: &'static [ErrorCode] = &[ErrorCode::AlreadyAMember];

    /// The code spelled `text`, if the registry has it.
    pub fn parse(text: &str) -> Option<ErrorCode> {
        Self::ALL.iter().copied().find(|code| code.as_str() == text)
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
