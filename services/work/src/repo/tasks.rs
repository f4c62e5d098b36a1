//! Queries on `tasks`. Every function is scoped to one organization.
//!
//! The list query is shaped for the indexes of the work migration: a single status or priority
//! is compared with `=` (not `= ANY`), so that `tasks_project_status_created_idx` both filters
//! and delivers rows in `created_at, id` order for the board view without a sort.

use diesel::dsl::now;
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use operant_platform::db::Prepared;
use operant_platform::idempotency;
use operant_platform::keyset;
use operant_platform::paging::{Cursor, KeyKind, Page, Paged, Sort, SortField};
use uuid::Uuid;

use super::{contains_pattern, sorted, tenant_rows};
use crate::model::{NewTask, Task, TaskChanges, TaskFilter};
use crate::schema::{projects, tasks};

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
    fn kind(self) -> KeyKind {
        match self {
            TaskSort::CreatedAt | TaskSort::UpdatedAt => KeyKind::Time,
            TaskSort::DueDate => KeyKind::OptTime,
            TaskSort::Priority => KeyKind::Int,
            TaskSort::Title => KeyKind::Text,
        }
    }
}

/// The cursor of `row` in the order of `field`.
fn cursor(row: &Task, field: TaskSort) -> Cursor {
    match field {
        TaskSort::CreatedAt => Cursor::time(row.created_at, row.id),
        TaskSort::UpdatedAt => Cursor::time(row.updated_at, row.id),
        TaskSort::DueDate => Cursor::opt_time(row.due_date, row.id),
        TaskSort::Priority => Cursor::int(i64::from(row.priority), row.id),
        TaskSort::Title => Cursor::text(row.title.clone(), row.id),
    }
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

/// Binds `task` (made whole, `version` 1) and its `task.created` `event` after whatever `query`
/// binds already: the task's twelve columns, then the event's id, type, time and data (its actor
/// is the task's creator, bound with the task). The parameters of [`INSERT_WITH_EVENT`] and of
/// [`claimed_insert_sql`] after the key's.
macro_rules! bind_task_and_event {
    ($query:expr, $task:expr, $event:expr) => {{
        use diesel::sql_types::{Int2, Jsonb, Nullable, Text, Timestamptz, Uuid as SqlUuid};
        let (task, event) = ($task, $event);
        $query
            .bind::<SqlUuid, _>(task.id)
            .bind::<SqlUuid, _>(task.organization_id)
            .bind::<SqlUuid, _>(task.project_id)
            .bind::<Text, _>(&task.title)
            .bind::<Nullable<Text>, _>(task.description.as_deref())
            .bind::<Text, _>(&task.status)
            .bind::<Int2, _>(task.priority)
            .bind::<Nullable<SqlUuid>, _>(task.assignee_id)
            .bind::<Nullable<Timestamptz>, _>(task.due_date)
            .bind::<SqlUuid, _>(task.created_by)
            .bind::<Timestamptz, _>(task.created_at)
            .bind::<Text, _>(&task.actor_type)
            .bind::<SqlUuid, _>(event.id)
            .bind::<Text, _>(&event.event_type)
            .bind::<Timestamptz, _>(event.occurred_at)
            .bind::<Jsonb, _>(&event.data)
    }};
}

/// [`insert_with_event`]'s statement: the task and its `task.created` outbox row.
const INSERT_WITH_EVENT: &str = "WITH inserted AS (INSERT INTO tasks (id, organization_id, project_id, title, \
     description, status, priority, assignee_id, due_date, created_by, created_at, updated_at, version, \
     actor_type) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11, 1, $12) RETURNING id) \
     INSERT INTO work_event_outbox (id, organization_id, type, actor_type, actor_id, occurred_at, data, \
     changed_fields) SELECT $13, $2, $14, $12, $10, $15, $16, '{}' FROM inserted";

/// Inserts `task` (made whole by the caller, `version` 1) and its `task.created` outbox `event`
/// in ONE statement: atomic without a transaction, one round trip. A project that is not the
/// organization's fails it with the foreign-key violation, as [`insert`] does.
pub async fn insert_with_event(
    conn: &mut AsyncPgConnection,
    task: &Task,
    event: &crate::events::OutboxEvent,
) -> QueryResult<()> {
    let query = bind_task_and_event!(diesel::sql_query(INSERT_WITH_EVENT), task, event);
    Prepared(query).execute(conn).await.map(|_| ())
}

/// The statement of [`insert_claimed`] for `store` (built once, when the service starts): its
/// key claim ([`idempotency::Store::claim_sql`]) in front of the task's insert. `None` when the
/// store has no such fast path.
pub fn claimed_insert_sql(store: &idempotency::Store) -> Option<String> {
    store.claim_sql().map(|claim_sql| {
        format!(
            "WITH claimed AS ({claim_sql}) \
             , inserted AS (INSERT INTO tasks (id, organization_id, project_id, title, description, status, \
             priority, assignee_id, due_date, created_by, created_at, updated_at, version, actor_type) \
             SELECT $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $18, 1, $19 FROM claimed RETURNING id) \
             INSERT INTO work_event_outbox (id, organization_id, type, actor_type, actor_id, occurred_at, data, \
             changed_fields) SELECT $20, $9, $21, $19, $17, $22, $23, '{{}}' FROM inserted"
        )
    })
}

/// Inserts `task` (made whole by the caller, `version` 1) together with its idempotency key,
/// kept answer `body` and `task.created` outbox `event`, in ONE statement (`sql`, from [`claimed_insert_sql`]): `true` when both
/// were written, `false` when the key was taken (nothing written). A project that is not the
/// organization's fails the statement with the foreign-key violation, as [`insert`] does.
pub async fn insert_claimed(
    conn: &mut AsyncPgConnection,
    sql: &str,
    store: &idempotency::Store,
    key: &idempotency::Key,
    task: &Task,
    body: &[u8],
    event: &crate::events::OutboxEvent,
) -> QueryResult<bool> {
    let query = bind_task_and_event!(store.claim(sql.to_owned(), key, body), task, event);
    Ok(Prepared(query).execute(conn).await? == 1)
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

/// A task deletes nothing with it.
pub async fn dependents(
    _conn: &mut AsyncPgConnection,
    _organization_id: Uuid,
    _id: Uuid,
) -> QueryResult<Vec<(&'static str, Uuid)>> {
    Ok(vec![])
}

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

/// [`list`] of a filter naming a project, with the check that the project exists in the
/// organization pipelined with the count and the page (one round trip); `None` when it does not.
pub async fn list_checked(
    conn: &mut AsyncPgConnection,
    organization_id: Uuid,
    filter: &TaskFilter,
    page: &Page<TaskSort>,
) -> QueryResult<Option<Paged<Task>>> {
    let Some(project_id) = filter.project_id else {
        return list(conn, organization_id, filter, page).await.map(Some);
    };
    let shared: &AsyncPgConnection = conn;
    let project = projects::table
        .filter(projects::organization_id.eq(organization_id))
        .filter(projects::id.eq(project_id));
    let exists = diesel::select(diesel::dsl::exists(project)).get_result::<bool>(&mut &*shared);
    let count = filtered(organization_id, filter).count().get_result::<i64>(&mut &*shared);
    let items = list_query(organization_id, filter, page).load::<Task>(&mut &*shared);
    let (exists, total, items) = tokio::try_join!(exists, count, items)?;
    Ok(exists.then(|| page.paged(items, total, cursor)))
}

/// `due_date` after the cursor: nulls sort last ascending and first descending (PostgreSQL's
/// defaults, which the `ORDER BY` uses), so each side of a null is written out.
fn after_due(
    query: tasks::BoxedQuery<'static, Pg>,
    value: Option<chrono::DateTime<chrono::Utc>>,
    after: Uuid,
    descending: bool,
) -> tasks::BoxedQuery<'static, Pg> {
    match (value, descending) {
        (Some(v), false) => query.filter(
            tasks::due_date
                .ge(v)
                .and(tasks::due_date.gt(v).or(tasks::id.gt(after)))
                .assume_not_null()
                .or(tasks::due_date.is_null()),
        ),
        (None, false) => query.filter(tasks::due_date.is_null().and(tasks::id.gt(after))),
        (Some(v), true) => {
            query.filter(tasks::due_date.le(v).and(tasks::due_date.lt(v).or(tasks::id.lt(after))))
        }
        (None, true) => {
            query.filter(tasks::due_date.is_null().and(tasks::id.lt(after)).or(tasks::due_date.is_not_null()))
        }
    }
}

/// The list query: filtered, sorted (ties broken by id in the same direction), after the
/// page's cursor when it has one, and paged (one row more than the page).
pub fn list_query(
    organization_id: Uuid,
    filter: &TaskFilter,
    page: &Page<TaskSort>,
) -> tasks::BoxedQuery<'static, Pg> {
    let mut query = filtered(organization_id, filter);
    if let Some(after) = &page.after {
        let (desc, id) = (page.sort.descending, after.id);
        query = match page.sort.field {
            TaskSort::CreatedAt => keyset!(query, tasks::created_at, tasks::id, after.time_value(), id, desc),
            TaskSort::UpdatedAt => keyset!(query, tasks::updated_at, tasks::id, after.time_value(), id, desc),
            TaskSort::DueDate => after_due(query, after.opt_time_value(), id, desc),
            TaskSort::Priority => {
                let priority = i16::try_from(after.int_value()).unwrap_or_default();
                keyset!(query, tasks::priority, tasks::id, priority, id, desc)
            }
            TaskSort::Title => {
                keyset!(query, tasks::title, tasks::id, after.text_value().to_owned(), id, desc)
            }
        };
    }
    let query = match page.sort.field {
        TaskSort::CreatedAt => sorted!(query, tasks::created_at, tasks::id, page.sort.descending),
        TaskSort::UpdatedAt => sorted!(query, tasks::updated_at, tasks::id, page.sort.descending),
        TaskSort::DueDate => sorted!(query, tasks::due_date, tasks::id, page.sort.descending),
        TaskSort::Priority => sorted!(query, tasks::priority, tasks::id, page.sort.descending),
        TaskSort::Title => sorted!(query, tasks::title, tasks::id, page.sort.descending),
    };
    query.offset(page.skip).limit(page.fetch())
}

/// [`list_query`] run under `EXPLAIN (ANALYZE, BUFFERS)`: the plan with real rows, times and
/// buffers.
pub async fn explain_analyze_list(
    conn: &mut AsyncPgConnection,
    organization_id: Uuid,
    filter: &TaskFilter,
    page: &Page<TaskSort>,
) -> QueryResult<Vec<String>> {
    super::ExplainAnalyze(list_query(organization_id, filter, page)).load(conn).await
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
