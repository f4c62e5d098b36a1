//! `/api/v1/tasks[/{id}]` → `operant.work.v1.TaskService` (tenant from `X-Organization-Id`).
//! Same `ETag`/`If-Match` contract as projects.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderName, StatusCode};
use operant_proto::work::v1 as pb;
use operant_proto::work::v1::task_service_client::TaskServiceClient;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{not_null, required};
use crate::error::{ApiErrorBody, HttpError, HttpResult};
use crate::extract::{IfMatch, JsonBody, PathParams, QueryParams, etag};
use crate::models::to_timestamp;
use crate::models::work::{CreateTaskBody, TaskListParams, TaskResponse, UpdateTaskBody};
use crate::openapi::{IfMatchHeader, OrganizationHeader, TenantErrors, TenantJsonErrors, TenantListErrors};
use crate::pagination::{Page, PageParams};
use crate::state::AppState;
use crate::upstream::{Forward, IdempotencyKey, Replayed};

type Tagged = ([(HeaderName, String); 1], Json<TaskResponse>);

/// Fields a PUT/PATCH may name.
const UPDATABLE: [&str; 6] = ["title", "description", "status", "priority", "assignee_id", "due_date"];

/// This module's routes, each with its OpenAPI operation (from the handler's `#[utoipa::path]`).
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list, create)).routes(routes!(get_one, update, delete_one))
}

fn client(state: &AppState) -> TaskServiceClient<operant_platform::balance::Balanced> {
    TaskServiceClient::new(state.upstream().work.clone())
}

fn tagged(task: Option<pb::Task>) -> HttpResult<Tagged> {
    let task = required(task, "task")?;
    Ok((etag(task.version), Json(task.into())))
}

/// Creates a task in a project (`project_id` in the body or the query).
#[utoipa::path(post, path = "/api/v1/tasks", tag = "tasks", security(("bearer" = [])),
    params(OrganizationHeader, ("project_id" = Option<uuid::Uuid>, Query, description = "The project, when not in the body")),
    request_body = CreateTaskBody,
    responses(
        TenantJsonErrors,
        (status = 201, description = "The task", body = TaskResponse, headers(("ETag" = String, description = "The version"))),
        (status = 404, description = "`PROJECT_NOT_FOUND`", body = ApiErrorBody),
        (status = 422, description = "`VALIDATION_ERROR` (field named) / `ASSIGNEE_NOT_MEMBER`", body = ApiErrorBody),
    ))]
pub async fn create(
    State(state): State<AppState>,
    fwd: Forward,
    key: IdempotencyKey,
    query: QueryParams,
    body: JsonBody<CreateTaskBody>,
) -> HttpResult<(StatusCode, Replayed, Tagged)> {
    let b = body.value;
    let project_id = match (b.project_id, query.uuid("project_id")?) {
        (Some(a), Some(q)) if a != q => {
            return Err(HttpError::validation(
                "project_id",
                "the body and the query name different projects",
            ));
        }
        (Some(id), _) | (None, Some(id)) => id,
        (None, None) => return Err(HttpError::validation("project_id", "required in the body or the query")),
    };
    let request = pb::CreateTaskRequest {
        project_id: project_id.to_string(),
        title: b.title,
        description: b.description,
        status: b.status.map_or(0, |s| s.to_proto()),
        priority: b.priority.map_or(0, |p| p.to_proto()),
        assignee_id: b.assignee_id.map(|id| id.to_string()),
        due_date: b.due_date.map(|d| to_timestamp(d.0)),
        request_id: key.0,
    };
    let (replayed, response) = state
        .upstream()
        .call_idempotent(client(&state).create_task(fwd.request(state.upstream(), request)))
        .await?;
    Ok((StatusCode::CREATED, replayed, tagged(response.task)?))
}

/// Tasks of the organization (or one project) with filters. Sort: `created_at`, `updated_at`,
/// `due_date`, `priority`, `title` (default `-created_at`).
#[utoipa::path(get, path = "/api/v1/tasks", tag = "tasks", security(("bearer" = [])),
    params(OrganizationHeader, PageParams, TaskListParams),
    responses(
        TenantListErrors,
        (status = 200, description = "One page", body = Page<TaskResponse>),
        (status = 404, description = "`PROJECT_NOT_FOUND`: `project_id` names no project of the organization", body = ApiErrorBody),
    ))]
pub async fn list(
    State(state): State<AppState>,
    fwd: Forward,
    query: QueryParams,
) -> HttpResult<Json<Page<TaskResponse>>> {
    let page = PageParams::from_query(&query)?.to_proto();
    let request = TaskListParams::from_query(&query)?.into_request(page.clone());
    let response =
        state.upstream().call(client(&state).list_tasks(fwd.request(state.upstream(), request))).await?;
    Ok(Json(Page::new(response.tasks, response.page, &page)))
}

/// One task.
#[utoipa::path(get, path = "/api/v1/tasks/{id}", tag = "tasks", security(("bearer" = [])),
    params(OrganizationHeader, ("id" = uuid::Uuid, Path, description = "Task id")),
    responses(
        TenantErrors,
        (status = 200, description = "The task", body = TaskResponse, headers(("ETag" = String, description = "The version"))),
        (status = 404, description = "`TASK_NOT_FOUND`", body = ApiErrorBody),
    ))]
pub async fn get_one(State(state): State<AppState>, fwd: Forward, path: PathParams) -> HttpResult<Tagged> {
    let request = pb::GetTaskRequest { task_id: path.uuid("id")?.to_string() };
    let response =
        state.upstream().call(client(&state).get_task(fwd.request(state.upstream(), request))).await?;
    tagged(response.task)
}

/// Changes the fields present in the body (creator, assignee or ADMIN+); PUT and PATCH alike.
/// `null` clears `description`, `assignee_id` and `due_date`.
#[utoipa::path(method(put, patch), path = "/api/v1/tasks/{id}", tag = "tasks", security(("bearer" = [])),
    params(OrganizationHeader, IfMatchHeader, ("id" = uuid::Uuid, Path, description = "Task id")),
    request_body = UpdateTaskBody,
    responses(
        TenantJsonErrors,
        (status = 200, description = "The task", body = TaskResponse, headers(("ETag" = String, description = "The new version"))),
        (status = 403, description = "`NOT_A_MEMBER` / `INSUFFICIENT_ROLE`", body = ApiErrorBody),
        (status = 404, description = "`TASK_NOT_FOUND`", body = ApiErrorBody),
        (status = 412, description = "`VERSION_MISMATCH`: `If-Match` is stale", body = ApiErrorBody),
        (status = 422, description = "`VALIDATION_ERROR` (field named) / `ASSIGNEE_NOT_MEMBER`", body = ApiErrorBody),
    ))]
pub async fn update(
    State(state): State<AppState>,
    fwd: Forward,
    path: PathParams,
    if_match: IfMatch,
    body: JsonBody<UpdateTaskBody>,
) -> HttpResult<Tagged> {
    let task_id = path.uuid("id")?.to_string();
    not_null(body.has("title"), &body.value.title, "title")?;
    not_null(body.has("status"), &body.value.status, "status")?;
    not_null(body.has("priority"), &body.value.priority, "priority")?;
    let paths = UPDATABLE.into_iter().filter(|k| body.has(k)).map(str::to_owned).collect();
    let b = body.value;
    let request = pb::UpdateTaskRequest {
        task_id: task_id.clone(),
        task: Some(pb::Task {
            id: task_id,
            title: b.title.unwrap_or_default(),
            description: b.description,
            status: b.status.map_or(0, |s| s.to_proto()),
            priority: b.priority.map_or(0, |p| p.to_proto()),
            assignee_id: b.assignee_id.map(|id| id.to_string()),
            due_date: b.due_date.map(|d| to_timestamp(d.0)),
            ..Default::default()
        }),
        update_mask: Some(prost_types::FieldMask { paths }),
        expected_version: if_match.0,
    };
    let response =
        state.upstream().call(client(&state).update_task(fwd.request(state.upstream(), request))).await?;
    tagged(response.task)
}

/// Deletes a task (creator or ADMIN+).
#[utoipa::path(delete, path = "/api/v1/tasks/{id}", tag = "tasks", security(("bearer" = [])),
    params(OrganizationHeader, IfMatchHeader, ("id" = uuid::Uuid, Path, description = "Task id")),
    responses(
        TenantErrors,
        (status = 204, description = "Deleted"),
        (status = 403, description = "`NOT_A_MEMBER` / `INSUFFICIENT_ROLE`", body = ApiErrorBody),
        (status = 404, description = "`TASK_NOT_FOUND`", body = ApiErrorBody),
        (status = 412, description = "`VERSION_MISMATCH`: `If-Match` is stale", body = ApiErrorBody),
    ))]
pub async fn delete_one(
    State(state): State<AppState>,
    fwd: Forward,
    path: PathParams,
    if_match: IfMatch,
) -> HttpResult<StatusCode> {
    let request =
        pb::DeleteTaskRequest { task_id: path.uuid("id")?.to_string(), expected_version: if_match.0 };
    state.upstream().call(client(&state).delete_task(fwd.request(state.upstream(), request))).await?;
    Ok(StatusCode::NO_CONTENT)
}
