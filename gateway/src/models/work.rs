//! Bodies and list parameters of the project and task routes.

use chrono::{DateTime, Utc};
use operant_proto::work::v1 as pb;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::{ActorType, DateInput, proto_enum, timestamp, timestamp_or_epoch, to_timestamp};
use crate::error::{HttpError, HttpResult};
use crate::extract::QueryParams;

proto_enum! {
    /// Task status.
    TaskStatus => pb::TaskStatus { Todo = Todo, InProgress = InProgress, Done = Done }
}

proto_enum! {
    /// Task priority.
    TaskPriority => pb::TaskPriority { Low = Low, Medium = Medium, High = High, Urgent = Urgent }
}

/// `POST /projects`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateProjectBody {
    /// 1..=200 characters.
    pub name: String,
    pub description: Option<String>,
}

/// `PUT`/`PATCH /projects/{id}`: fields left out stay unchanged; `description: null` clears it.
#[derive(Debug, Deserialize, ToSchema)]
pub struct UpdateProjectBody {
    pub name: Option<String>,
    pub description: Option<String>,
}

/// A project. Its `version` is also sent as the `ETag`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProjectResponse {
    pub id: String,
    pub organization_id: String,
    pub name: String,
    pub description: Option<String>,
    /// The user (or organization API key, see `actor_type`) who created it.
    pub created_by: String,
    pub actor_type: Option<ActorType>,
    #[serde(serialize_with = "super::rfc3339::write")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "super::rfc3339::write")]
    pub updated_at: DateTime<Utc>,
    /// Incremented by every change; send it back in `If-Match`.
    pub version: i64,
}

impl From<pb::Project> for ProjectResponse {
    fn from(p: pb::Project) -> Self {
        Self {
            id: p.id,
            organization_id: p.organization_id,
            name: p.name,
            description: p.description,
            created_by: p.created_by,
            actor_type: ActorType::from_proto(p.actor_type),
            created_at: timestamp_or_epoch(p.created_at),
            updated_at: timestamp_or_epoch(p.updated_at),
            version: p.version,
        }
    }
}

/// Filters of `GET /projects`.
#[derive(Debug, Default, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ProjectListParams {
    /// Case-insensitive search in name and description.
    pub q: Option<String>,
    /// Only projects created by this user.
    pub created_by: Option<Uuid>,
}

impl ProjectListParams {
    pub fn from_query(query: &QueryParams) -> HttpResult<Self> {
        Ok(Self { q: query.string("q"), created_by: query.uuid("created_by")? })
    }
}

/// `POST /tasks` (`project_id` in the body or the query).
#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateTaskBody {
    /// The project; may be given as the `project_id` query parameter instead. When both are
    /// given they must name the same project (otherwise 422 naming `project_id`).
    pub project_id: Option<Uuid>,
    /// 1..=200 characters.
    pub title: String,
    pub description: Option<String>,
    /// `TODO` when left out.
    pub status: Option<TaskStatus>,
    /// `MEDIUM` when left out.
    pub priority: Option<TaskPriority>,
    /// A member of the organization (otherwise 422 `ASSIGNEE_NOT_MEMBER`).
    pub assignee_id: Option<Uuid>,
    /// RFC 3339 date-time or `YYYY-MM-DD`.
    pub due_date: Option<DateInput>,
}

/// `PUT`/`PATCH /tasks/{id}`: fields left out stay unchanged; `null` clears `description`,
/// `assignee_id` and `due_date`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct UpdateTaskBody {
    pub title: Option<String>,
    pub description: Option<String>,
    pub status: Option<TaskStatus>,
    pub priority: Option<TaskPriority>,
    /// A member of the organization (otherwise 422 `ASSIGNEE_NOT_MEMBER`); `null` unassigns.
    pub assignee_id: Option<Uuid>,
    pub due_date: Option<DateInput>,
}

/// A task. Its `version` is also sent as the `ETag`.
#[derive(Debug, Serialize, ToSchema)]
pub struct TaskResponse {
    pub id: String,
    pub project_id: String,
    pub organization_id: String,
    pub title: String,
    pub description: Option<String>,
    pub status: Option<TaskStatus>,
    pub priority: Option<TaskPriority>,
    pub assignee_id: Option<String>,
    #[serde(serialize_with = "super::rfc3339::write_opt")]
    pub due_date: Option<DateTime<Utc>>,
    /// The user (or organization API key, see `actor_type`) who created it.
    pub created_by: String,
    pub actor_type: Option<ActorType>,
    #[serde(serialize_with = "super::rfc3339::write")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "super::rfc3339::write")]
    pub updated_at: DateTime<Utc>,
    /// Incremented by every change; send it back in `If-Match`.
    pub version: i64,
}

impl From<pb::Task> for TaskResponse {
    fn from(t: pb::Task) -> Self {
        Self {
            id: t.id,
            project_id: t.project_id,
            organization_id: t.organization_id,
            title: t.title,
            description: t.description,
            status: TaskStatus::from_proto(t.status),
            priority: TaskPriority::from_proto(t.priority),
            assignee_id: t.assignee_id,
            due_date: timestamp(t.due_date),
            created_by: t.created_by,
            actor_type: ActorType::from_proto(t.actor_type),
            created_at: timestamp_or_epoch(t.created_at),
            updated_at: timestamp_or_epoch(t.updated_at),
            version: t.version,
        }
    }
}

/// Filters of `GET /tasks`.
#[derive(Debug, Default, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TaskListParams {
    /// Only this project's tasks; absent means the whole organization.
    pub project_id: Option<Uuid>,
    /// Any of these statuses (repeat the parameter and/or separate with commas).
    #[param(style = Form, explode)]
    pub status: Option<Vec<TaskStatus>>,
    /// Any of these priorities (repeat the parameter and/or separate with commas).
    #[param(style = Form, explode)]
    pub priority: Option<Vec<TaskPriority>>,
    /// A user's UUID, or `me`.
    pub assignee_id: Option<String>,
    /// Due strictly before (RFC 3339 date-time or `YYYY-MM-DD`).
    #[param(value_type = Option<String>)]
    pub due_before: Option<DateTime<Utc>>,
    /// Due strictly after (RFC 3339 date-time or `YYYY-MM-DD`).
    #[param(value_type = Option<String>)]
    pub due_after: Option<DateTime<Utc>>,
    /// Case-insensitive search in title and description.
    pub q: Option<String>,
}

fn enums<T>(
    query: &QueryParams,
    name: &str,
    parse: fn(&str) -> Option<T>,
    names: fn() -> String,
) -> HttpResult<Option<Vec<T>>> {
    let values = query
        .all(name)
        .into_iter()
        .map(|raw| {
            parse(raw).ok_or_else(|| {
                HttpError::validation(name, format!("unknown value {raw:?}; expected one of {}", names()))
            })
        })
        .collect::<HttpResult<Vec<T>>>()?;
    Ok((!values.is_empty()).then_some(values))
}

impl TaskListParams {
    pub fn from_query(query: &QueryParams) -> HttpResult<Self> {
        let assignee_id = match query.given("assignee_id") {
            None => None,
            Some(me) if me.eq_ignore_ascii_case("me") => Some("me".to_owned()),
            Some(raw) => Some(crate::extract::parse_uuid("assignee_id", raw)?.to_string()),
        };
        Ok(Self {
            project_id: query.uuid("project_id")?,
            status: enums(query, "status", TaskStatus::parse, TaskStatus::names)?,
            priority: enums(query, "priority", TaskPriority::parse, TaskPriority::names)?,
            assignee_id,
            due_before: query.date_time("due_before")?,
            due_after: query.date_time("due_after")?,
            q: query.string("q"),
        })
    }

    pub fn into_request(self, page: operant_proto::common::v1::PageRequest) -> pb::ListTasksRequest {
        pb::ListTasksRequest {
            page: Some(page),
            project_id: self.project_id.map(|id| id.to_string()),
            statuses: self.status.unwrap_or_default().into_iter().map(TaskStatus::to_proto).collect(),
            priorities: self.priority.unwrap_or_default().into_iter().map(TaskPriority::to_proto).collect(),
            assignee_id: self.assignee_id,
            due_before: self.due_before.map(to_timestamp),
            due_after: self.due_after.map(to_timestamp),
            q: self.q,
        }
    }
}
