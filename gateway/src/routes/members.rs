//! `/api/v1/organizations/{id}/members*` and `.../transfer-ownership` →
//! `operant.tenancy.v1.MemberService`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use operant_proto::tenancy::v1 as pb;
use operant_proto::tenancy::v1::member_service_client::MemberServiceClient;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::required;
use crate::error::{ApiErrorBody, HttpResult};
use crate::extract::{JsonBody, PathParams, QueryParams};
use crate::models::tenancy::{
    CreateInvitationBody, InvitationResponse, MemberResponse, TransferOwnershipBody, UpdateMemberBody,
};
use crate::openapi::{TenantErrors, TenantJsonErrors, TenantListErrors};
use crate::pagination::{Page, PageParams};
use crate::state::AppState;
use crate::upstream::{Forward, IdempotencyKey, Replayed};

/// This module's routes, each with its OpenAPI operation (from the handler's `#[utoipa::path]`;
/// `#[deprecated]` on a handler marks its operation `deprecated`).
#[allow(deprecated)]
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, add))
        .routes(routes!(update, remove))
        .routes(routes!(transfer_ownership))
}

fn client(state: &AppState) -> MemberServiceClient<operant_platform::balance::Balanced> {
    MemberServiceClient::new(state.upstream().tenancy.clone())
}

/// Members with email, name and role (any member). Sort: `joined_at`, `email`, `role`.
#[utoipa::path(get, path = "/api/v1/organizations/{id}/members", tag = "members", security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "Organization id"), PageParams),
    responses(TenantListErrors, (status = 200, description = "One page of members", body = Page<MemberResponse>)))]
pub async fn list(
    State(state): State<AppState>,
    fwd: Forward,
    path: PathParams,
    query: QueryParams,
) -> HttpResult<Json<Page<MemberResponse>>> {
    let organization_id = path.uuid("id")?.to_string();
    let page = PageParams::from_query(&query)?.to_proto();
    let request = pb::ListMembersRequest { organization_id, page: Some(page.clone()) };
    let response =
        state.upstream().call(client(&state).list_members(fwd.request(state.upstream(), request))).await?;
    Ok(Json(Page::new(response.members, response.page, &page)))
}

/// Deprecated alias of `POST /organizations/{id}/invitations`: invites the address (it no
/// longer adds anyone directly, and never tells whether an address has an account).
#[utoipa::path(post, path = "/api/v1/organizations/{id}/members", tag = "members", security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "Organization id")), request_body = CreateInvitationBody,
    responses(
        TenantJsonErrors,
        (status = 201, description = "The invitation (status PENDING)", body = InvitationResponse),
        (status = 403, description = "`NOT_A_MEMBER` / `INSUFFICIENT_ROLE` / `PLAN_LIMIT_REACHED`", body = ApiErrorBody),
        (status = 409, description = "`ALREADY_MEMBER` / `INVITATION_PENDING`", body = ApiErrorBody),
    ))]
#[deprecated = "use POST /api/v1/organizations/{id}/invitations"]
pub async fn add(
    State(state): State<AppState>,
    fwd: Forward,
    key: IdempotencyKey,
    path: PathParams,
    body: JsonBody<CreateInvitationBody>,
) -> HttpResult<(StatusCode, Replayed, Json<InvitationResponse>)> {
    let organization_id = path.uuid("id")?.to_string();
    let b = body.value;
    let request =
        pb::AddMemberRequest { organization_id, email: b.email, role: b.role.to_proto(), request_id: key.0 };
    #[allow(deprecated)]
    let (replayed, response) = state
        .upstream()
        .call_idempotent(client(&state).add_member(fwd.request(state.upstream(), request)))
        .await?;
    Ok((StatusCode::CREATED, replayed, Json(required(response.invitation, "invitation")?.into())))
}

/// Changes a member's role (ADMIN+; OWNER for owners).
#[utoipa::path(patch, path = "/api/v1/organizations/{id}/members/{user_id}", tag = "members",
    security(("bearer" = [])), request_body = UpdateMemberBody,
    params(("id" = uuid::Uuid, Path, description = "Organization id"), ("user_id" = uuid::Uuid, Path, description = "Member's user id")),
    responses(
        TenantJsonErrors,
        (status = 200, description = "The member", body = MemberResponse),
        (status = 403, description = "`NOT_A_MEMBER` / `INSUFFICIENT_ROLE`", body = ApiErrorBody),
        (status = 404, description = "`MEMBER_NOT_FOUND`", body = ApiErrorBody),
        (status = 409, description = "`LAST_OWNER`", body = ApiErrorBody),
    ))]
pub async fn update(
    State(state): State<AppState>,
    fwd: Forward,
    path: PathParams,
    body: JsonBody<UpdateMemberBody>,
) -> HttpResult<Json<MemberResponse>> {
    let organization_id = path.uuid("id")?.to_string();
    let user_id = path.uuid("user_id")?.to_string();
    let request = pb::UpdateMemberRequest { organization_id, user_id, role: body.value.role.to_proto() };
    let response =
        state.upstream().call(client(&state).update_member(fwd.request(state.upstream(), request))).await?;
    Ok(Json(required(response.member, "member")?.into()))
}

/// Removes a member (ADMIN+, or the member itself to leave).
#[utoipa::path(delete, path = "/api/v1/organizations/{id}/members/{user_id}", tag = "members",
    security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "Organization id"), ("user_id" = uuid::Uuid, Path, description = "Member's user id")),
    responses(
        TenantErrors,
        (status = 204, description = "Removed"),
        (status = 403, description = "`NOT_A_MEMBER` / `INSUFFICIENT_ROLE`", body = ApiErrorBody),
        (status = 404, description = "`MEMBER_NOT_FOUND`", body = ApiErrorBody),
        (status = 409, description = "`LAST_OWNER`", body = ApiErrorBody),
    ))]
pub async fn remove(State(state): State<AppState>, fwd: Forward, path: PathParams) -> HttpResult<StatusCode> {
    let organization_id = path.uuid("id")?.to_string();
    let user_id = path.uuid("user_id")?.to_string();
    let request = pb::RemoveMemberRequest { organization_id, user_id };
    state.upstream().call(client(&state).remove_member(fwd.request(state.upstream(), request))).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Makes another member OWNER; the caller becomes ADMIN (OWNER).
#[utoipa::path(post, path = "/api/v1/organizations/{id}/transfer-ownership", tag = "members",
    security(("bearer" = [])), request_body = TransferOwnershipBody,
    params(("id" = uuid::Uuid, Path, description = "Organization id")),
    responses(
        TenantJsonErrors,
        (status = 204, description = "Ownership transferred"),
        (status = 403, description = "`NOT_A_MEMBER` / `INSUFFICIENT_ROLE`", body = ApiErrorBody),
        (status = 404, description = "`MEMBER_NOT_FOUND`", body = ApiErrorBody),
    ))]
pub async fn transfer_ownership(
    State(state): State<AppState>,
    fwd: Forward,
    key: IdempotencyKey,
    path: PathParams,
    body: JsonBody<TransferOwnershipBody>,
) -> HttpResult<(StatusCode, Replayed, ())> {
    let organization_id = path.uuid("id")?.to_string();
    let request = pb::TransferOwnershipRequest {
        organization_id,
        user_id: body.value.user_id.to_string(),
        request_id: key.0,
    };
    let (replayed, _) = state
        .upstream()
        .call_idempotent(client(&state).transfer_ownership(fwd.request(state.upstream(), request)))
        .await?;
    Ok((StatusCode::NO_CONTENT, replayed, ()))
}
