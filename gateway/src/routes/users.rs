//! `/api/v1/users/*`: the caller's profile (`operant.auth.v1.UserService`) and the users of the
//! organization in `X-Organization-Id` (`operant.tenancy.v1.MemberService`).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use operant_proto::auth::v1 as pb;
use operant_proto::auth::v1::user_service_client::UserServiceClient;
use operant_proto::tenancy::v1 as tpb;
use operant_proto::tenancy::v1::member_service_client::MemberServiceClient;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{not_null, required};
use crate::error::{ApiErrorBody, HttpResult};
use crate::extract::{JsonBody, QueryParams};
use crate::models::auth::{ChangePasswordBody, UpdateMeBody, UserResponse};
use crate::models::tenancy::MemberResponse;
use crate::openapi::{OrganizationHeader, TenantListErrors, UserErrors, UserJsonErrors};
use crate::pagination::{Page, PageParams};
use crate::state::AppState;
use crate::upstream::Forward;

/// This module's routes, each with its OpenAPI operation (from the handler's `#[utoipa::path]`).
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_me, update_me))
        .routes(routes!(change_password))
        .routes(routes!(list_users))
}

fn client(state: &AppState) -> UserServiceClient<operant_platform::balance::Balanced> {
    UserServiceClient::new(state.upstream().auth.clone())
}

/// The caller's profile.
#[utoipa::path(get, path = "/api/v1/users/me", tag = "users", security(("bearer" = [])),
    responses(UserErrors, (status = 200, description = "The caller", body = UserResponse)))]
pub async fn get_me(State(state): State<AppState>, fwd: Forward) -> HttpResult<Json<UserResponse>> {
    let request = pb::GetCurrentUserRequest {};
    let response = state
        .upstream()
        .call(client(&state).get_current_user(fwd.request(state.upstream(), request)))
        .await?;
    Ok(Json(required(response.user, "user")?.into()))
}

/// Updates the caller's profile; fields left out stay unchanged (PUT and PATCH alike).
#[utoipa::path(method(put, patch), path = "/api/v1/users/me", tag = "users", security(("bearer" = [])),
    request_body = UpdateMeBody,
    responses(UserJsonErrors, (status = 200, description = "The updated profile", body = UserResponse)))]
pub async fn update_me(
    State(state): State<AppState>,
    fwd: Forward,
    body: JsonBody<UpdateMeBody>,
) -> HttpResult<Json<UserResponse>> {
    not_null(body.has("full_name"), &body.value.full_name, "full_name")?;
    let request = pb::UpdateCurrentUserRequest { full_name: body.value.full_name };
    let response = state
        .upstream()
        .call(client(&state).update_current_user(fwd.request(state.upstream(), request)))
        .await?;
    Ok(Json(required(response.user, "user")?.into()))
}

/// Changes the caller's password; every other session of the caller is revoked.
#[utoipa::path(post, path = "/api/v1/users/me/password", tag = "users", security(("bearer" = [])),
    request_body = ChangePasswordBody,
    responses(
        UserJsonErrors,
        (status = 204, description = "Password changed"),
        (status = 400, description = "`WRONG_PASSWORD`: the current password is wrong", body = ApiErrorBody),
    ))]
pub async fn change_password(
    State(state): State<AppState>,
    fwd: Forward,
    body: JsonBody<ChangePasswordBody>,
) -> HttpResult<StatusCode> {
    let b = body.value;
    let request =
        pb::ChangePasswordRequest { current_password: b.current_password, new_password: b.new_password };
    state.upstream().call(client(&state).change_password(fwd.request(state.upstream(), request))).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The users of the organization in `X-Organization-Id`, with their roles (ADMIN+).
#[utoipa::path(get, path = "/api/v1/users", tag = "users", security(("bearer" = [])),
    params(OrganizationHeader, PageParams),
    responses(
        TenantListErrors,
        (status = 200, description = "One page of users", body = Page<MemberResponse>),
        (status = 403, description = "`NOT_A_MEMBER` / `INSUFFICIENT_ROLE`", body = ApiErrorBody),
    ))]
pub async fn list_users(
    State(state): State<AppState>,
    fwd: Forward,
    query: QueryParams,
) -> HttpResult<Json<Page<MemberResponse>>> {
    let page = PageParams::from_query(&query)?.to_proto();
    let request = tpb::ListOrganizationUsersRequest { page: Some(page.clone()) };
    let mut client = MemberServiceClient::new(state.upstream().tenancy.clone());
    let response =
        state.upstream().call(client.list_organization_users(fwd.request(state.upstream(), request))).await?;
    Ok(Json(Page::new(response.members, response.page, &page)))
}
