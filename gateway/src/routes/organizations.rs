//! `/api/v1/organizations[/{id}]` → `operant.tenancy.v1.OrganizationService`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use operant_proto::tenancy::v1 as pb;
use operant_proto::tenancy::v1::organization_service_client::OrganizationServiceClient;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{not_null, required};
use crate::error::{ApiErrorBody, HttpResult};
use crate::extract::{JsonBody, PathParams, QueryParams};
use crate::models::tenancy::{CreateOrganizationBody, OrganizationResponse, UpdateOrganizationBody};
use crate::openapi::{TenantErrors, TenantJsonErrors, UserJsonErrors, UserListErrors};
use crate::pagination::{Page, PageParams};
use crate::state::AppState;
use crate::upstream::{Forward, IdempotencyKey, Replayed};

/// This module's routes, each with its OpenAPI operation (from the handler's `#[utoipa::path]`).
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list, create)).routes(routes!(get_one, update, delete_one))
}

fn client(state: &AppState) -> OrganizationServiceClient<operant_platform::balance::Balanced> {
    OrganizationServiceClient::new(state.upstream().tenancy.clone())
}

/// Creates an organization on the FREE plan with the caller as OWNER.
#[utoipa::path(post, path = "/api/v1/organizations", tag = "organizations", security(("bearer" = [])),
    request_body = CreateOrganizationBody,
    responses(
        UserJsonErrors,
        (status = 201, description = "The organization", body = OrganizationResponse),
        (status = 409, description = "`SLUG_TAKEN`", body = ApiErrorBody),
    ))]
pub async fn create(
    State(state): State<AppState>,
    fwd: Forward,
    key: IdempotencyKey,
    body: JsonBody<CreateOrganizationBody>,
) -> HttpResult<(StatusCode, Replayed, Json<OrganizationResponse>)> {
    let b = body.value;
    let request = pb::CreateOrganizationRequest { name: b.name, slug: b.slug, request_id: key.0 };
    let (replayed, response) = state
        .upstream()
        .call_idempotent(client(&state).create_organization(fwd.request(state.upstream(), request)))
        .await?;
    Ok((StatusCode::CREATED, replayed, Json(required(response.organization, "organization")?.into())))
}

/// The caller's organizations with the caller's role. Sort: `name`, `slug`, `created_at`.
#[utoipa::path(get, path = "/api/v1/organizations", tag = "organizations", security(("bearer" = [])),
    params(PageParams),
    responses(UserListErrors, (status = 200, description = "One page", body = Page<OrganizationResponse>)))]
pub async fn list(
    State(state): State<AppState>,
    fwd: Forward,
    query: QueryParams,
) -> HttpResult<Json<Page<OrganizationResponse>>> {
    let page = PageParams::from_query(&query)?.to_proto();
    let request = pb::ListOrganizationsRequest { page: Some(page.clone()) };
    let response = state
        .upstream()
        .call(client(&state).list_organizations(fwd.request(state.upstream(), request)))
        .await?;
    Ok(Json(Page::new(response.organizations, response.page, &page)))
}

/// One organization of the caller.
#[utoipa::path(get, path = "/api/v1/organizations/{id}", tag = "organizations", security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "Organization id")),
    responses(TenantErrors, (status = 200, description = "The organization", body = OrganizationResponse)))]
pub async fn get_one(
    State(state): State<AppState>,
    fwd: Forward,
    path: PathParams,
) -> HttpResult<Json<OrganizationResponse>> {
    let request = pb::GetOrganizationRequest { organization_id: path.uuid("id")?.to_string() };
    let response = state
        .upstream()
        .call(client(&state).get_organization(fwd.request(state.upstream(), request)))
        .await?;
    Ok(Json(required(response.organization, "organization")?.into()))
}

/// Renames an organization (OWNER); fields left out stay unchanged (PUT and PATCH alike).
#[utoipa::path(method(put, patch), path = "/api/v1/organizations/{id}", tag = "organizations",
    security(("bearer" = [])), request_body = UpdateOrganizationBody,
    params(("id" = uuid::Uuid, Path, description = "Organization id")),
    responses(
        TenantJsonErrors,
        (status = 200, description = "The organization", body = OrganizationResponse),
        (status = 403, description = "`NOT_A_MEMBER` / `INSUFFICIENT_ROLE`", body = ApiErrorBody),
        (status = 409, description = "`SLUG_TAKEN`", body = ApiErrorBody),
    ))]
pub async fn update(
    State(state): State<AppState>,
    fwd: Forward,
    path: PathParams,
    body: JsonBody<UpdateOrganizationBody>,
) -> HttpResult<Json<OrganizationResponse>> {
    let organization_id = path.uuid("id")?.to_string();
    not_null(body.has("name"), &body.value.name, "name")?;
    not_null(body.has("slug"), &body.value.slug, "slug")?;
    let b = body.value;
    let request = pb::UpdateOrganizationRequest { organization_id, name: b.name, slug: b.slug };
    let response = state
        .upstream()
        .call(client(&state).update_organization(fwd.request(state.upstream(), request)))
        .await?;
    Ok(Json(required(response.organization, "organization")?.into()))
}

/// Deletes an organization with its memberships, projects and tasks (OWNER).
#[utoipa::path(delete, path = "/api/v1/organizations/{id}", tag = "organizations", security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "Organization id")),
    responses(
        TenantErrors,
        (status = 204, description = "Deleted"),
        (status = 403, description = "`NOT_A_MEMBER` / `INSUFFICIENT_ROLE`", body = ApiErrorBody),
    ))]
pub async fn delete_one(
    State(state): State<AppState>,
    fwd: Forward,
    path: PathParams,
) -> HttpResult<StatusCode> {
    let request = pb::DeleteOrganizationRequest { organization_id: path.uuid("id")?.to_string() };
    state.upstream().call(client(&state).delete_organization(fwd.request(state.upstream(), request))).await?;
    Ok(StatusCode::NO_CONTENT)
}
