//! Queries on `projects`. Every function is scoped to one organization.

use diesel::dsl::now;
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use operant_platform::keyset;
use operant_platform::paging::{Cursor, KeyKind, Page, Paged, Sort, SortField};
use uuid::Uuid;

use super::{contains_pattern, sorted, tenant_rows};
use crate::model::{NewProject, Project, ProjectChanges, ProjectFilter};
use crate::schema::projects;

/// Sort fields of ListProjects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProjectSort {
    CreatedAt,
    UpdatedAt,
    Name,
}

impl SortField for ProjectSort {
    const FIELDS: &'static [(&'static str, Self)] = &[
        ("created_at", ProjectSort::CreatedAt),
        ("updated_at", ProjectSort::UpdatedAt),
        ("name", ProjectSort::Name),
    ];
    const DEFAULT: Sort<Self> = Sort { field: ProjectSort::CreatedAt, descending: true };
    fn kind(self) -> KeyKind {
        match self {
            ProjectSort::CreatedAt | ProjectSort::UpdatedAt => KeyKind::Time,
            ProjectSort::Name => KeyKind::Text,
        }
    }
}

/// The cursor of `row` in the order of `field`.
fn cursor(row: &Project, field: ProjectSort) -> Cursor {
    match field {
        ProjectSort::CreatedAt => Cursor::time(row.created_at, row.id),
        ProjectSort::UpdatedAt => Cursor::time(row.updated_at, row.id),
        ProjectSort::Name => Cursor::text(row.name.clone(), row.id),
    }
}

#[derive(AsChangeset)]
#[diesel(table_name = projects)]
struct Changeset<'a> {
    name: Option<&'a str>,
    description: Option<Option<&'a str>>,
}

/// Inserts a project created by `created_by` (times from the database clock, like updates).
pub async fn insert(
    conn: &mut AsyncPgConnection,
    organization_id: Uuid,
    (created_by, actor_type): (Uuid, &str),
    new: &NewProject,
) -> QueryResult<Project> {
    diesel::insert_into(projects::table)
        .values((
            projects::id.eq(Uuid::now_v7()),
            projects::organization_id.eq(organization_id),
            projects::name.eq(&new.name),
            projects::description.eq(new.description.as_deref()),
            projects::created_by.eq(created_by),
            projects::actor_type.eq(actor_type),
        ))
        .returning(Project::as_returning())
        .get_result(conn)
        .await
}

/// Number of projects of the organization.
pub async fn count(conn: &mut AsyncPgConnection, organization_id: Uuid) -> QueryResult<i64> {
    projects::table.filter(projects::organization_id.eq(organization_id)).count().get_result(conn).await
}

/// Applies `changes` if the project is at `version`; bumps the version. `None` when no row
/// matched (another organization's, missing, or at another version): nothing changed.
pub async fn update(
    conn: &mut AsyncPgConnection,
    organization_id: Uuid,
    id: Uuid,
    version: i64,
    changes: &ProjectChanges,
) -> QueryResult<Option<Project>> {
    let changeset = Changeset {
        name: changes.name.as_deref(),
        description: changes.description.as_ref().map(|d| d.as_deref()),
    };
    apply(conn, organization_id, id, version, changeset).await
}

tenant_rows!(projects, Project, ProjectFilter, ProjectSort);

/// The tasks a deletion of the project deletes with it (the foreign key's cascade), by id.
pub async fn dependents(
    conn: &mut AsyncPgConnection,
    organization_id: Uuid,
    id: Uuid,
) -> QueryResult<Vec<(&'static str, Uuid)>> {
    use crate::schema::tasks;
    let ids: Vec<Uuid> = tasks::table
        .filter(tasks::organization_id.eq(organization_id))
        .filter(tasks::project_id.eq(id))
        .order(tasks::id.asc())
        .select(tasks::id)
        .load(conn)
        .await?;
    Ok(ids.into_iter().map(|id| ("task", id)).collect())
}

/// The organization's projects matching `filter`, unordered.
fn filtered(organization_id: Uuid, filter: &ProjectFilter) -> projects::BoxedQuery<'static, Pg> {
    let mut query = projects::table.filter(projects::organization_id.eq(organization_id)).into_boxed();
    if let Some(q) = &filter.q {
        let pattern = contains_pattern(q);
        query = query.filter(
            projects::name.ilike(pattern.clone()).or(projects::description.ilike(pattern).assume_not_null()),
        );
    }
    if let Some(created_by) = filter.created_by {
        query = query.filter(projects::created_by.eq(created_by));
    }
    query
}

/// The list query: filtered, sorted (ties broken by id in the same direction), after the
/// page's cursor when it has one, and paged (one row more than the page).
pub fn list_query(
    organization_id: Uuid,
    filter: &ProjectFilter,
    page: &Page<ProjectSort>,
) -> projects::BoxedQuery<'static, Pg> {
    let mut query = filtered(organization_id, filter);
    if let Some(after) = &page.after {
        let desc = page.sort.descending;
        query = match page.sort.field {
            ProjectSort::CreatedAt => {
                keyset!(query, projects::created_at, projects::id, after.time_value(), after.id, desc)
            }
            ProjectSort::UpdatedAt => {
                keyset!(query, projects::updated_at, projects::id, after.time_value(), after.id, desc)
            }
            ProjectSort::Name => {
                keyset!(query, projects::name, projects::id, after.text_value().to_owned(), after.id, desc)
            }
        };
    }
    let query = match page.sort.field {
        ProjectSort::CreatedAt => sorted!(query, projects::created_at, projects::id, page.sort.descending),
        ProjectSort::UpdatedAt => sorted!(query, projects::updated_at, projects::id, page.sort.descending),
        ProjectSort::Name => sorted!(query, projects::name, projects::id, page.sort.descending),
    };
    query.offset(page.skip).limit(page.fetch())
}

/// [`list_query`] run under `EXPLAIN (ANALYZE, BUFFERS)`.
pub async fn explain_analyze_list(
    conn: &mut AsyncPgConnection,
    organization_id: Uuid,
    filter: &ProjectFilter,
    page: &Page<ProjectSort>,
) -> QueryResult<Vec<String>> {
    super::ExplainAnalyze(list_query(organization_id, filter, page)).load(conn).await
}
