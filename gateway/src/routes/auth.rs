//! `/api/v1/auth/*` and `/.well-known/jwks.json` → `operant.auth.v1.AuthService`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use operant_platform::tokens::REFRESH_TOKEN_PREFIX;
use operant_proto::auth::v1 as pb;
use operant_proto::auth::v1::auth_service_client::AuthServiceClient;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::required;
use crate::error::{ApiErrorBody, HttpError, HttpResult};
use crate::extract::{JsonBody, OptionalJsonBody, PathParams};
use crate::models::MessageResponse;
use crate::models::auth::{
    JwksResponse, LoginBody, PasswordResetConfirmBody, PasswordResetRequestBody, RefreshTokenBody,
    RegisterBody, SessionResponse, TokenBody, TokenResponse, UserResponse,
};
use crate::openapi::{PublicJsonErrors, UpstreamErrors, UserErrors};
use crate::state::AppState;
use crate::upstream::{Forward, IdempotencyKey, Replayed};

/// This module's routes, each with its OpenAPI operation (from the handler's `#[utoipa::path]`).
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(register))
        .routes(routes!(login))
        .routes(routes!(refresh))
        .routes(routes!(logout))
        .routes(routes!(list_sessions))
        .routes(routes!(revoke_session))
        .routes(routes!(request_email_verification))
        .routes(routes!(confirm_email_verification))
        .routes(routes!(request_password_reset))
        .routes(routes!(confirm_password_reset))
        .routes(routes!(jwks))
}

fn client(state: &AppState) -> AuthServiceClient<operant_platform::balance::Balanced> {
    AuthServiceClient::new(state.upstream().auth.clone())
}

/// Creates an account.
#[utoipa::path(post, path = "/api/v1/auth/register", tag = "auth", request_body = RegisterBody,
    responses(
        PublicJsonErrors,
        (status = 201, description = "The new account", body = UserResponse),
        (status = 409, description = "`EMAIL_TAKEN`", body = ApiErrorBody),
    ))]
pub async fn register(
    State(state): State<AppState>,
    fwd: Forward,
    key: IdempotencyKey,
    body: JsonBody<RegisterBody>,
) -> HttpResult<(StatusCode, Replayed, Json<UserResponse>)> {
    let b = body.value;
    let request = pb::RegisterRequest {
        email: b.email,
        password: b.password,
        full_name: b.full_name,
        request_id: key.0,
    };
    let (replayed, response) = state
        .upstream()
        .call_idempotent(client(&state).register(fwd.request(state.upstream(), request)))
        .await?;
    Ok((StatusCode::CREATED, replayed, Json(required(response.user, "user")?.into())))
}

/// Exchanges email and password for a token pair.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginBody,
    responses(
        PublicJsonErrors,
        (status = 200, description = "A new session's token pair", body = TokenResponse),
        (status = 401, description = "`INVALID_CREDENTIALS`", body = ApiErrorBody),
        (status = 403, description = "`INACTIVE_USER`", body = ApiErrorBody),
        (status = 429, description = "`TOO_MANY_ATTEMPTS`, with `Retry-After`", body = ApiErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
    ))]
pub async fn login(
    State(state): State<AppState>,
    fwd: Forward,
    body: JsonBody<LoginBody>,
) -> HttpResult<Json<TokenResponse>> {
    let b = body.value;
    let request = pb::LoginRequest { email: b.email, password: b.password };
    let response =
        state.upstream().call(client(&state).login(fwd.request(state.upstream(), request))).await?;
    Ok(Json(required(response.tokens, "tokens")?.into()))
}

/// Consumes a refresh token (JSON body `{"refresh_token"}` or `Authorization: Bearer
/// <refresh_token>`) and returns its successor pair.
#[utoipa::path(post, path = "/api/v1/auth/refresh", tag = "auth",
    request_body(content = Option<RefreshTokenBody>, description = "Optional when the refresh token is sent as `Authorization: Bearer`"),
    security((), ("bearer" = [])),
    responses(
        PublicJsonErrors,
        (status = 200, description = "The successor token pair", body = TokenResponse),
        (status = 401, description = "`INVALID_REFRESH_TOKEN`, `REFRESH_TOKEN_EXPIRED`, `REFRESH_TOKEN_REUSED` (the session is revoked)", body = ApiErrorBody),
    ))]
pub async fn refresh(
    State(state): State<AppState>,
    fwd: Forward,
    body: OptionalJsonBody<RefreshTokenBody>,
) -> HttpResult<Json<TokenResponse>> {
    let from_body = body.0.and_then(|b| b.value.refresh_token).filter(|t| !t.trim().is_empty());
    let token = from_body.or_else(|| fwd.bearer().map(str::to_owned)).ok_or_else(|| {
        HttpError::validation(
            "refresh_token",
            "required in the body or as `Authorization: Bearer <refresh_token>`",
        )
    })?;
    let request = pb::RefreshTokenRequest { refresh_token: token };
    let fwd = fwd.without_authorization();
    let response =
        state.upstream().call(client(&state).refresh_token(fwd.request(state.upstream(), request))).await?;
    Ok(Json(required(response.tokens, "tokens")?.into()))
}

/// Ends a session: the one of the refresh token in the body (or in `Authorization`), otherwise
/// the one of the calling access token. Idempotent.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth",
    request_body(content = Option<RefreshTokenBody>, description = "Optional: without it the session of the access token ends"),
    security((), ("bearer" = [])),
    responses(
        PublicJsonErrors,
        (status = 204, description = "The session ended"),
        (status = 401, description = "`TOKEN_MISSING`: neither a refresh token nor an access token / `INVALID_REFRESH_TOKEN`", body = ApiErrorBody),
    ))]
pub async fn logout(
    State(state): State<AppState>,
    fwd: Forward,
    body: OptionalJsonBody<RefreshTokenBody>,
) -> HttpResult<StatusCode> {
    let from_body = body.0.and_then(|b| b.value.refresh_token).filter(|t| !t.trim().is_empty());
    let from_header = fwd.bearer().filter(|t| t.starts_with(REFRESH_TOKEN_PREFIX)).map(str::to_owned);
    let (refresh_token, fwd) = match from_body.or(from_header) {
        // A refresh token names the session; a stale access token beside it must not get in the way.
        Some(token) => (Some(token), fwd.without_authorization()),
        None => (None, fwd),
    };
    let request = pb::LogoutRequest { refresh_token };
    state.upstream().call(client(&state).logout(fwd.request(state.upstream(), request))).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The caller's active sessions, newest first.
#[utoipa::path(get, path = "/api/v1/auth/sessions", tag = "auth", security(("bearer" = [])),
    responses(UserErrors, (status = 200, description = "Active sessions", body = [SessionResponse])))]
pub async fn list_sessions(
    State(state): State<AppState>,
    fwd: Forward,
) -> HttpResult<Json<Vec<SessionResponse>>> {
    let request = pb::ListSessionsRequest {};
    let response =
        state.upstream().call(client(&state).list_sessions(fwd.request(state.upstream(), request))).await?;
    Ok(Json(response.sessions.into_iter().map(Into::into).collect()))
}

/// Revokes one of the caller's sessions; its access tokens stop working at once.
#[utoipa::path(delete, path = "/api/v1/auth/sessions/{id}", tag = "auth", security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "Session id")),
    responses(
        UserErrors,
        (status = 204, description = "Revoked"),
        (status = 404, description = "`SESSION_NOT_FOUND`", body = ApiErrorBody),
    ))]
pub async fn revoke_session(
    State(state): State<AppState>,
    fwd: Forward,
    path: PathParams,
) -> HttpResult<StatusCode> {
    let request = pb::RevokeSessionRequest { session_id: path.uuid("id")?.to_string() };
    state.upstream().call(client(&state).revoke_session(fwd.request(state.upstream(), request))).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Sends a link to verify the caller's email.
#[utoipa::path(post, path = "/api/v1/auth/verify-email/request", tag = "auth", security(("bearer" = [])),
    responses(
        UserErrors,
        (status = 202, description = "A verification link was sent", body = MessageResponse),
    ))]
pub async fn request_email_verification(
    State(state): State<AppState>,
    fwd: Forward,
) -> HttpResult<(StatusCode, Json<MessageResponse>)> {
    let request = pb::RequestEmailVerificationRequest {};
    state
        .upstream()
        .call(client(&state).request_email_verification(fwd.request(state.upstream(), request)))
        .await?;
    Ok((StatusCode::ACCEPTED, Json(MessageResponse::new("a verification link was sent"))))
}

/// Confirms an email verification token (single use).
#[utoipa::path(post, path = "/api/v1/auth/verify-email/confirm", tag = "auth", request_body = TokenBody,
    responses(
        PublicJsonErrors,
        (status = 200, description = "The verified user", body = UserResponse),
        (status = 400, description = "`INVALID_TOKEN` / `ONE_TIME_TOKEN_EXPIRED` / `INVALID_JSON`", body = ApiErrorBody),
    ))]
pub async fn confirm_email_verification(
    State(state): State<AppState>,
    fwd: Forward,
    body: JsonBody<TokenBody>,
) -> HttpResult<Json<UserResponse>> {
    let request = pb::ConfirmEmailVerificationRequest { token: body.value.token };
    let response = state
        .upstream()
        .call(client(&state).confirm_email_verification(fwd.request(state.upstream(), request)))
        .await?;
    Ok(Json(required(response.user, "user")?.into()))
}

/// Sends a password reset link if the account exists; always 202 (no account enumeration).
#[utoipa::path(post, path = "/api/v1/auth/password-reset/request", tag = "auth",
    request_body = PasswordResetRequestBody,
    responses(PublicJsonErrors, (status = 202, description = "Accepted", body = MessageResponse)))]
pub async fn request_password_reset(
    State(state): State<AppState>,
    fwd: Forward,
    body: JsonBody<PasswordResetRequestBody>,
) -> HttpResult<(StatusCode, Json<MessageResponse>)> {
    let request = pb::RequestPasswordResetRequest { email: body.value.email };
    state
        .upstream()
        .call(client(&state).request_password_reset(fwd.request(state.upstream(), request)))
        .await?;
    Ok((StatusCode::ACCEPTED, Json(MessageResponse::new("if the account exists, a reset link was sent"))))
}

/// Sets a new password with a reset token (single use); every session is revoked.
#[utoipa::path(post, path = "/api/v1/auth/password-reset/confirm", tag = "auth",
    request_body = PasswordResetConfirmBody,
    responses(
        PublicJsonErrors,
        (status = 204, description = "Password changed"),
        (status = 400, description = "`INVALID_TOKEN` / `ONE_TIME_TOKEN_EXPIRED` / `INVALID_JSON`", body = ApiErrorBody),
    ))]
pub async fn confirm_password_reset(
    State(state): State<AppState>,
    fwd: Forward,
    body: JsonBody<PasswordResetConfirmBody>,
) -> HttpResult<StatusCode> {
    let b = body.value;
    let request = pb::ConfirmPasswordResetRequest { token: b.token, new_password: b.new_password };
    state
        .upstream()
        .call(client(&state).confirm_password_reset(fwd.request(state.upstream(), request)))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The public keys that verify access tokens (JSON Web Key Set).
#[utoipa::path(get, path = "/.well-known/jwks.json", tag = "auth",
    responses(UpstreamErrors, (status = 200, description = "JWKS", body = JwksResponse)))]
pub async fn jwks(State(state): State<AppState>, fwd: Forward) -> HttpResult<Json<JwksResponse>> {
    let request = pb::GetJwksRequest {};
    let response =
        state.upstream().call(client(&state).get_jwks(fwd.request(state.upstream(), request))).await?;
    Ok(Json(response.into()))
}
