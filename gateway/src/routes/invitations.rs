//! `/api/v1/organizations/{id}/invitations*` (an organization's invitations, ADMIN+) and
//! `/api/v1/invitations*` (the caller's own: accept by mailed token, or list, accept and decline
//! in the app with a verified email) → `operant.tenancy.v1.InvitationService`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use operant_proto::tenancy::v1 as pb;
use operant_proto::tenancy::v1::invitation_service_client::InvitationServiceClient;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::required;
use crate::error::{ApiErrorBody, HttpError, HttpResult};
use crate::extract::{JsonBody, PathParams, QueryParams};
use crate::models::tenancy::{
    AcceptInvitationBody, AcceptedInvitationResponse, CreateInvitationBody, InvitationResponse,
    InvitationStatus,
};
use crate::openapi::{
    TenantErrors, TenantJsonErrors, TenantListErrors, UserErrors, UserJsonErrors, UserListErrors,
};
use crate::pagination::{Page, PageParams};
use crate::state::AppState;
use crate::upstream::{Forward, IdempotencyKey, Replayed};

/// This module's routes, each with its OpenAPI operation (from the handler's `#[utoipa::path]`).
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(revoke))
        .routes(routes!(resend))
        .routes(routes!(accept))
        .routes(routes!(list_mine))
        .routes(routes!(accept_mine))
        .routes(routes!(decline_mine))
}

fn client(state: &AppState) -> InvitationServiceClient<operant_platform::balance::Balanced> {
    InvitationServiceClient::new(state.upstream().tenancy.clone())
}

fn accepted(
    invitation: Option<pb::Invitation>,
    member: Option<pb::Member>,
) -> HttpResult<AcceptedInvitationResponse> {
    Ok(AcceptedInvitationResponse {
        invitation: required(invitation, "invitation")?.into(),
        member: required(member, "member")?.into(),
    })
}

/// The `status` filter: one of the statuses, or absent for all.
fn status(query: &QueryParams) -> HttpResult<i32> {
    match query.given("status") {
        None => Ok(0),
        Some(raw) => InvitationStatus::parse(raw).map(InvitationStatus::to_proto).ok_or_else(|| {
            HttpError::validation("status", format!("must be one of {}", InvitationStatus::names()))
        }),
    }
}

/// Invites an address (ADMIN+; role `ADMIN` or `MEMBER`). The same 201 and body shape whether or
/// not the address has an account; the invitee is mailed a link valid 7 days
/// (`OPERANT_INVITATION_TTL_SECS`). A pending invitation holds a seat of the plan.
#[utoipa::path(post, path = "/api/v1/organizations/{id}/invitations", tag = "invitations",
    security(("bearer" = [])), params(("id" = uuid::Uuid, Path, description = "Organization id")),
    request_body = CreateInvitationBody,
    responses(
        TenantJsonErrors,
        (status = 201, description = "The invitation (status PENDING)", body = InvitationResponse),
        (status = 403, description = "`NOT_A_MEMBER` / `INSUFFICIENT_ROLE` / `PLAN_LIMIT_REACHED`", body = ApiErrorBody),
        (status = 409, description = "`ALREADY_MEMBER` / `INVITATION_PENDING`", body = ApiErrorBody),
    ))]
pub async fn create(
    State(state): State<AppState>,
    fwd: Forward,
    key: IdempotencyKey,
    path: PathParams,
    body: JsonBody<CreateInvitationBody>,
) -> HttpResult<(StatusCode, Replayed, Json<InvitationResponse>)> {
    let organization_id = path.uuid("id")?.to_string();
    let b = body.value;
    let request = pb::CreateInvitationRequest {
        organization_id,
        email: b.email,
        role: b.role.to_proto(),
        request_id: key.0,
    };
    let (replayed, response) = state
        .upstream()
        .call_idempotent(client(&state).create_invitation(fwd.request(state.upstream(), request)))
        .await?;
    Ok((StatusCode::CREATED, replayed, Json(required(response.invitation, "invitation")?.into())))
}

/// The organization's invitations, newest first (ADMIN+). Sort: `created_at`, `expires_at`,
/// `email`.
#[utoipa::path(get, path = "/api/v1/organizations/{id}/invitations", tag = "invitations",
    security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "Organization id"), PageParams,
        ("status" = Option<InvitationStatus>, Query, description = "Only invitations with this status")),
    responses(
        TenantListErrors,
        (status = 200, description = "One page of invitations", body = Page<InvitationResponse>),
        (status = 403, description = "`NOT_A_MEMBER` / `INSUFFICIENT_ROLE`", body = ApiErrorBody),
    ))]
pub async fn list(
    State(state): State<AppState>,
    fwd: Forward,
    path: PathParams,
    query: QueryParams,
) -> HttpResult<Json<Page<InvitationResponse>>> {
    let organization_id = path.uuid("id")?.to_string();
    let page = PageParams::from_query(&query)?.to_proto();
    let request =
        pb::ListInvitationsRequest { organization_id, page: Some(page.clone()), status: status(&query)? };
    let response = state
        .upstream()
        .call(client(&state).list_invitations(fwd.request(state.upstream(), request)))
        .await?;
    Ok(Json(Page::new(response.invitations, response.page, &page)))
}

/// Revokes a pending invitation (ADMIN+): its link stops working and its seat is freed.
#[utoipa::path(delete, path = "/api/v1/organizations/{id}/invitations/{invitation_id}", tag = "invitations",
    security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "Organization id"), ("invitation_id" = uuid::Uuid, Path, description = "Invitation id")),
    responses(
        TenantErrors,
        (status = 204, description = "Revoked"),
        (status = 403, description = "`NOT_A_MEMBER` / `INSUFFICIENT_ROLE`", body = ApiErrorBody),
        (status = 404, description = "`INVITATION_NOT_FOUND`", body = ApiErrorBody),
        (status = 410, description = "`INVITATION_NOT_PENDING`", body = ApiErrorBody),
    ))]
pub async fn revoke(State(state): State<AppState>, fwd: Forward, path: PathParams) -> HttpResult<StatusCode> {
    let organization_id = path.uuid("id")?.to_string();
    let invitation_id = path.uuid("invitation_id")?.to_string();
    let request = pb::RevokeInvitationRequest { organization_id, invitation_id };
    state.upstream().call(client(&state).revoke_invitation(fwd.request(state.upstream(), request))).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Mails the invitation again with a new token and a new expiry; the old link stops working
/// (ADMIN+).
#[utoipa::path(post, path = "/api/v1/organizations/{id}/invitations/{invitation_id}/resend", tag = "invitations",
    security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "Organization id"), ("invitation_id" = uuid::Uuid, Path, description = "Invitation id")),
    responses(
        TenantErrors,
        (status = 200, description = "The invitation with its new expiry", body = InvitationResponse),
        (status = 403, description = "`NOT_A_MEMBER` / `INSUFFICIENT_ROLE` / `PLAN_LIMIT_REACHED`", body = ApiErrorBody),
        (status = 404, description = "`INVITATION_NOT_FOUND`", body = ApiErrorBody),
        (status = 409, description = "`INVITATION_PENDING`", body = ApiErrorBody),
        (status = 410, description = "`INVITATION_NOT_PENDING`", body = ApiErrorBody),
    ))]
pub async fn resend(
    State(state): State<AppState>,
    fwd: Forward,
    path: PathParams,
) -> HttpResult<Json<InvitationResponse>> {
    let organization_id = path.uuid("id")?.to_string();
    let invitation_id = path.uuid("invitation_id")?.to_string();
    let request = pb::ResendInvitationRequest { organization_id, invitation_id };
    let response = state
        .upstream()
        .call(client(&state).resend_invitation(fwd.request(state.upstream(), request)))
        .await?;
    Ok(Json(required(response.invitation, "invitation")?.into()))
}

/// Accepts an invitation with the mailed token, signed in as the invited address (compared
/// case-insensitively). The account's email becomes verified and it joins with the invited role.
/// Without an account: register first, then accept.
#[utoipa::path(post, path = "/api/v1/invitations/accept", tag = "invitations", security(("bearer" = [])),
    request_body = AcceptInvitationBody,
    responses(
        UserJsonErrors,
        (status = 200, description = "Joined", body = AcceptedInvitationResponse),
        (status = 400, description = "`INVALID_TOKEN`", body = ApiErrorBody),
        (status = 403, description = "`INVITATION_EMAIL_MISMATCH` / `PLAN_LIMIT_REACHED`", body = ApiErrorBody),
        (status = 409, description = "`ALREADY_MEMBER`", body = ApiErrorBody),
        (status = 410, description = "`INVITATION_EXPIRED` / `INVITATION_NOT_PENDING`", body = ApiErrorBody),
    ))]
pub async fn accept(
    State(state): State<AppState>,
    fwd: Forward,
    body: JsonBody<AcceptInvitationBody>,
) -> HttpResult<Json<AcceptedInvitationResponse>> {
    let request = pb::AcceptInvitationRequest { token: body.value.token };
    let response = state
        .upstream()
        .call(client(&state).accept_invitation(fwd.request(state.upstream(), request)))
        .await?;
    Ok(Json(accepted(response.invitation, response.member)?))
}

/// The caller's pending invitations, newest first (verified email only).
#[utoipa::path(get, path = "/api/v1/invitations", tag = "invitations", security(("bearer" = [])),
    params(PageParams),
    responses(
        UserListErrors,
        (status = 200, description = "One page of invitations", body = Page<InvitationResponse>),
        (status = 403, description = "`EMAIL_NOT_VERIFIED`", body = ApiErrorBody),
    ))]
pub async fn list_mine(
    State(state): State<AppState>,
    fwd: Forward,
    query: QueryParams,
) -> HttpResult<Json<Page<InvitationResponse>>> {
    let page = PageParams::from_query(&query)?.to_proto();
    let request = pb::ListMyInvitationsRequest { page: Some(page.clone()) };
    let response = state
        .upstream()
        .call(client(&state).list_my_invitations(fwd.request(state.upstream(), request)))
        .await?;
    Ok(Json(Page::new(response.invitations, response.page, &page)))
}

/// Accepts one of the caller's invitations (verified email only: anyone can register someone
/// else's address).
#[utoipa::path(post, path = "/api/v1/invitations/{id}/accept", tag = "invitations", security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "Invitation id")),
    responses(
        UserErrors,
        (status = 200, description = "Joined", body = AcceptedInvitationResponse),
        (status = 403, description = "`EMAIL_NOT_VERIFIED` / `PLAN_LIMIT_REACHED`", body = ApiErrorBody),
        (status = 404, description = "`INVITATION_NOT_FOUND`", body = ApiErrorBody),
        (status = 409, description = "`ALREADY_MEMBER`", body = ApiErrorBody),
        (status = 410, description = "`INVITATION_EXPIRED` / `INVITATION_NOT_PENDING`", body = ApiErrorBody),
    ))]
pub async fn accept_mine(
    State(state): State<AppState>,
    fwd: Forward,
    path: PathParams,
) -> HttpResult<Json<AcceptedInvitationResponse>> {
    let request = pb::AcceptMyInvitationRequest { invitation_id: path.uuid("id")?.to_string() };
    let response = state
        .upstream()
        .call(client(&state).accept_my_invitation(fwd.request(state.upstream(), request)))
        .await?;
    Ok(Json(accepted(response.invitation, response.member)?))
}

/// Declines one of the caller's invitations (verified email only); its seat is freed.
#[utoipa::path(post, path = "/api/v1/invitations/{id}/decline", tag = "invitations", security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "Invitation id")),
    responses(
        UserErrors,
        (status = 200, description = "Declined", body = InvitationResponse),
        (status = 403, description = "`EMAIL_NOT_VERIFIED`", body = ApiErrorBody),
        (status = 404, description = "`INVITATION_NOT_FOUND`", body = ApiErrorBody),
        (status = 410, description = "`INVITATION_EXPIRED` / `INVITATION_NOT_PENDING`", body = ApiErrorBody),
    ))]
pub async fn decline_mine(
    State(state): State<AppState>,
    fwd: Forward,
    path: PathParams,
) -> HttpResult<Json<InvitationResponse>> {
    let request = pb::DeclineMyInvitationRequest { invitation_id: path.uuid("id")?.to_string() };
    let response = state
        .upstream()
        .call(client(&state).decline_my_invitation(fwd.request(state.upstream(), request)))
        .await?;
    Ok(Json(required(response.invitation, "invitation")?.into()))
}
