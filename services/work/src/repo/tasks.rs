//! Queries on `tasks`. Every function is scoped to one organization.
//!
//! The list query is shaped for the indexes of the work migration: a single status or priority
//! is compared with `=` (not `= ANY`), so that `tasks_project_status_created_idx` both filters
//! and delivers rows in `created_at, id` order for the board view without a sort.

use diesel::dsl::now;
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use operant_platform::paging::{Page, Paged, Sort, SortField};
use uuid::Uuid;

use super::{contains_pattern, sorted, tenant_rows};
use crate::model::{NewTask, Task, TaskChanges, TaskFilter};
use crate::schema::tasks;

/// Sort fields of ListTasks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskSort {
    CreatedAt,
    UpdatedAt,
    DueDate,
    Priority,
    Title,
}

impl SortField for TaskSort {
    const FIELDS: &'static [(&'static str, Self)] = &[
        ("created_at", TaskSort::CreatedAt),
        ("updated_at", TaskSort::UpdatedAt),
        ("due_date", TaskSort::DueDate),
        ("priority", TaskSort::Priority),
        ("title", TaskSort::Title),
    ];
    const DEFAULT: Sort<Self> = Sort { field: TaskSort::CreatedAt, descending: true };
}

#[derive(AsChangeset)]
#[diesel(table_name = tasks)]
struct Changeset<'a> {
    title: Option<&'a str>,
    description: Option<Option<&'a str>>,
    status: Option<&'static str>,
    priority: Option<i16>,
    assignee_id: Option<Option<Uuid>>,
    due_date: Option<Option<chrono::DateTime<chrono::Utc>>>,
}

/// Inserts a task created by `created_by`. The composite foreign key guarantees that the
/// project belongs to the same organization.
pub async fn insert(
    conn: &mut AsyncPgConnection,
    organization_id: Uuid,
    (created_by, actor_type): (Uuid, &str),
    new: &NewTask,
) -> QueryResult<Task> {
    diesel::insert_into(tasks::table)
        .values((
            tasks::id.eq(Uuid::now_v7()),
            tasks::organization_id.eq(organization_id),
            tasks::project_id.eq(new.project_id),
            tasks::title.eq(&new.title),
            tasks::description.eq(new.description.as_deref()),
            tasks::status.eq(new.status.as_db()),
            tasks::priority.eq(new.priority.as_db()),
            tasks::assignee_id.eq(new.assignee_id),
            tasks::due_date.eq(new.due_date),
            tasks::created_by.eq(created_by),
            tasks::actor_type.eq(actor_type),
        ))
        .returning(Task::as_returning())
        .get_result(conn)
        .await
}

/// Applies `changes` if the task is at `version`; bumps the version. `None` when no row matched.
pub async fn update(
    conn: &mut AsyncPgConnection,
    organization_id: Uuid,
    id: Uuid,
    version: i64,
    changes: &TaskChanges,
) -> QueryResult<Option<Task>> {
    let changeset = Changeset {
        title: changes.title.as_deref(),
        description: changes.description.as_ref().map(|d| d.as_deref()),
        status: changes.status.map(|s| s.as_db()),
        priority: changes.priority.map(|p| p.as_db()),
        assignee_id: changes.assignee_id,
        due_date: changes.due_date,
    };
    apply(conn, organization_id, id, version, changeset).await
}

tenant_rows!(tasks, Task, TaskFilter, TaskSort);

/// The organization's tasks matching `filter`, unordered.
fn filtered(organization_id: Uuid, filter: &TaskFilter) -> tasks::BoxedQuery<'static, Pg> {
    let mut query = tasks::table.filter(tasks::organization_id.eq(organization_id)).into_boxed();
    if let Some(project_id) = filter.project_id {
        query = query.filter(tasks::project_id.eq(project_id));
    }
    match filter.statuses.as_slice() {
        [] => {}
        [one] => query = query.filter(tasks::status.eq(one.as_db())),
        many => {
            query = query.filter(tasks::status.eq_any(many.iter().map(|s| s.as_db()).collect::<Vec<_>>()))
        }
    }
    match filter.priorities.as_slice() {
        [] => {}
        [one] => query = query.filter(tasks::priority.eq(one.as_db())),
        many => {
            query = query.filter(tasks::priority.eq_any(many.iter().map(|p| p.as_db()).collect::<Vec<_>>()))
        }
    }
    if let Some(assignee_id) = filter.assignee_id {
        query = query.filter(tasks::assignee_id.eq(assignee_id));
    }
    if let Some(before) = filter.due_before {
        query = query.filter(tasks::due_date.lt(before));
    }
    if let Some(after) = filter.due_after {
        query = query.filter(tasks::due_date.gt(after));
    }
    if let Some(q) = &filter.q {
        let pattern = contains_pattern(q);
        query = query.filter(
            tasks::title.ilike(pattern.clone()).or(tasks::description.ilike(pattern).assume_not_null()),
        );
    }
    query
}

/// The list query: filtered, sorted (ties broken by id in the same direction) and paged.
pub fn list_query(
    organization_id: Uuid,
    filter: &TaskFilter,
    page: &Page<TaskSort>,
) -> tasks::BoxedQuery<'static, Pg> {
    let query = filtered(organization_id, filter);
    let query = match page.sort.field {
        TaskSort::CreatedAt => sorted!(query, tasks::created_at, tasks::id, page.sort.descending),
        TaskSort::UpdatedAt => sorted!(query, tasks::updated_at, tasks::id, page.sort.descending),
        TaskSort::DueDate => sorted!(query, tasks::due_date, tasks::id, page.sort.descending),
        TaskSort::Priority => sorted!(query, tasks::priority, tasks::id, page.sort.descending),
        TaskSort::Title => sorted!(query, tasks::title, tasks::id, page.sort.descending),
    };
    query.offset(page.skip).limit(page.limit)
}

/// The plan PostgreSQL chooses for [`list_query`], one line per row of `EXPLAIN`.
pub async fn explain_list(
    conn: &mut AsyncPgConnection,
    organization_id: Uuid,
    filter: &TaskFilter,
    page: &Page<TaskSort>,
) -> QueryResult<Vec<String>> {
    super::Explain(list_query(organization_id, filter, page)).load(conn).await
}
