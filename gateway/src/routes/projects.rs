//! `/api/v1/projects[/{id}]` → `operant.work.v1.ProjectService` (tenant from
//! `X-Organization-Id`). Responses carry the project's `version` as `ETag`; `If-Match` on
//! PUT/PATCH/DELETE becomes `expected_version` (412 `VERSION_MISMATCH` when stale).

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderName, StatusCode};
use operant_proto::work::v1 as pb;
use operant_proto::work::v1::project_service_client::ProjectServiceClient;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{not_null, required};
use crate::error::{ApiErrorBody, HttpResult};
use crate::extract::{IfMatch, JsonBody, PathParams, QueryParams, etag};
use crate::models::work::{CreateProjectBody, ProjectListParams, ProjectResponse, UpdateProjectBody};
use crate::openapi::{IfMatchHeader, OrganizationHeader, TenantErrors, TenantJsonErrors, TenantListErrors};
use crate::pagination::{Page, PageParams};
use crate::state::AppState;
use crate::upstream::{Forward, IdempotencyKey, Replayed};

type Tagged = ([(HeaderName, String); 1], Json<ProjectResponse>);

/// This module's routes, each with its OpenAPI operation (from the handler's `#[utoipa::path]`).
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list, create)).routes(routes!(get_one, update, delete_one))
}

fn client(state: &AppState) -> ProjectServiceClient<operant_platform::balance::Balanced> {
    ProjectServiceClient::new(state.upstream().work.clone())
}

fn tagged(project: Option<pb::Project>) -> HttpResult<Tagged> {
    let project = required(project, "project")?;
    Ok((etag(project.version), Json(project.into())))
}

/// Creates a project (any member; counts against the plan's project limit).
#[utoipa::path(post, path = "/api/v1/projects", tag = "projects", security(("bearer" = [])),
    params(OrganizationHeader), request_body = CreateProjectBody,
    responses(
        TenantJsonErrors,
        (status = 201, description = "The project", body = ProjectResponse, headers(("ETag" = String, description = "The version"))),
        (status = 403, description = "`NOT_A_MEMBER` / `PLAN_LIMIT_REACHED`", body = ApiErrorBody),
    ))]
pub async fn create(
    State(state): State<AppState>,
    fwd: Forward,
    key: IdempotencyKey,
    body: JsonBody<CreateProjectBody>,
) -> HttpResult<(StatusCode, Replayed, Tagged)> {
    let b = body.value;
    let request = pb::CreateProjectRequest { name: b.name, description: b.description, request_id: key.0 };
    let (replayed, response) = state
        .upstream()
        .call_idempotent(client(&state).create_project(fwd.request(state.upstream(), request)))
        .await?;
    Ok((StatusCode::CREATED, replayed, tagged(response.project)?))
}

/// Projects of the organization. Sort: `created_at`, `updated_at`, `name` (default `-created_at`).
#[utoipa::path(get, path = "/api/v1/projects", tag = "projects", security(("bearer" = [])),
    params(OrganizationHeader, PageParams, ProjectListParams),
    responses(TenantListErrors, (status = 200, description = "One page", body = Page<ProjectResponse>)))]
pub async fn list(
    State(state): State<AppState>,
    fwd: Forward,
    query: QueryParams,
) -> HttpResult<Json<Page<ProjectResponse>>> {
    let page = PageParams::from_query(&query)?.to_proto();
    let filters = ProjectListParams::from_query(&query)?;
    let request = pb::ListProjectsRequest {
        page: Some(page.clone()),
        q: filters.q,
        created_by: filters.created_by.map(|id| id.to_string()),
    };
    let response =
        state.upstream().call(client(&state).list_projects(fwd.request(state.upstream(), request))).await?;
    Ok(Json(Page::new(response.projects, response.page, &page)))
}

/// One project.
#[utoipa::path(get, path = "/api/v1/projects/{id}", tag = "projects", security(("bearer" = [])),
    params(OrganizationHeader, ("id" = uuid::Uuid, Path, description = "Project id")),
    responses(
        TenantErrors,
        (status = 200, description = "The project", body = ProjectResponse, headers(("ETag" = String, description = "The version"))),
        (status = 404, description = "`PROJECT_NOT_FOUND`", body = ApiErrorBody),
    ))]
pub async fn get_one(State(state): State<AppState>, fwd: Forward, path: PathParams) -> HttpResult<Tagged> {
    let request = pb::GetProjectRequest { project_id: path.uuid("id")?.to_string() };
    let response =
        state.upstream().call(client(&state).get_project(fwd.request(state.upstream(), request))).await?;
    tagged(response.project)
}

/// Changes the fields present in the body (creator or ADMIN+); PUT and PATCH alike. `null`
/// clears `description`.
#[utoipa::path(method(put, patch), path = "/api/v1/projects/{id}", tag = "projects", security(("bearer" = [])),
    params(OrganizationHeader, IfMatchHeader, ("id" = uuid::Uuid, Path, description = "Project id")),
    request_body = UpdateProjectBody,
    responses(
        TenantJsonErrors,
        (status = 200, description = "The project", body = ProjectResponse, headers(("ETag" = String, description = "The new version"))),
        (status = 403, description = "`NOT_A_MEMBER` / `INSUFFICIENT_ROLE`", body = ApiErrorBody),
        (status = 404, description = "`PROJECT_NOT_FOUND`", body = ApiErrorBody),
        (status = 412, description = "`VERSION_MISMATCH`: `If-Match` is stale", body = ApiErrorBody),
    ))]
pub async fn update(
    State(state): State<AppState>,
    fwd: Forward,
    path: PathParams,
    if_match: IfMatch,
    body: JsonBody<UpdateProjectBody>,
) -> HttpResult<Tagged> {
    let project_id = path.uuid("id")?.to_string();
    not_null(body.has("name"), &body.value.name, "name")?;
    let paths = ["name", "description"].into_iter().filter(|k| body.has(k)).map(str::to_owned).collect();
    let b = body.value;
    let request = pb::UpdateProjectRequest {
        project_id: project_id.clone(),
        project: Some(pb::Project {
            id: project_id,
            name: b.name.unwrap_or_default(),
            description: b.description,
            ..Default::default()
        }),
        update_mask: Some(prost_types::FieldMask { paths }),
        expected_version: if_match.0,
    };
    let response =
        state.upstream().call(client(&state).update_project(fwd.request(state.upstream(), request))).await?;
    tagged(response.project)
}

/// Deletes a project and its tasks (creator or ADMIN+).
#[utoipa::path(delete, path = "/api/v1/projects/{id}", tag = "projects", security(("bearer" = [])),
    params(OrganizationHeader, IfMatchHeader, ("id" = uuid::Uuid, Path, description = "Project id")),
    responses(
        TenantErrors,
        (status = 204, description = "Deleted"),
        (status = 403, description = "`NOT_A_MEMBER` / `INSUFFICIENT_ROLE`", body = ApiErrorBody),
        (status = 404, description = "`PROJECT_NOT_FOUND`", body = ApiErrorBody),
        (status = 412, description = "`VERSION_MISMATCH`: `If-Match` is stale", body = ApiErrorBody),
    ))]
pub async fn delete_one(
    State(state): State<AppState>,
    fwd: Forward,
    path: PathParams,
    if_match: IfMatch,
) -> HttpResult<StatusCode> {
    let request =
        pb::DeleteProjectRequest { project_id: path.uuid("id")?.to_string(), expected_version: if_match.0 };
    state.upstream().call(client(&state).delete_project(fwd.request(state.upstream(), request))).await?;
    Ok(StatusCode::NO_CONTENT)
}
