//! The work service's rules: validation of values, permissions, plan limits and optimistic
//! concurrency, each operation in one transaction.
//!
//! The gRPC handlers hand in parsed values and a [`Standing`] (the caller's role and plan limits
//! from tenancy's `Authorize`); everything that decides *whether* something may happen lives here.

use diesel::QueryResult;
use diesel_async::{AsyncConnection, AsyncPgConnection};
use operant_platform::db::{self, PgPool};
use operant_platform::error::FieldViolation;
use uuid::Uuid;

use crate::error::WorkError;
use crate::events::{self, OutboxEvent, Relay};

pub mod internal;
pub mod projects;
pub mod tasks;

pub use crate::model::Standing;

/// Longest name or title, in characters.
pub const MAX_TITLE_CHARS: usize = 200;
/// Longest description, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 10_000;
/// Longest search text, in characters.
pub const MAX_QUERY_CHARS: usize = 200;

/// A trimmed name or title of 1..=200 characters.
pub(crate) fn title(field: &str, value: &str, violations: &mut Vec<FieldViolation>) -> String {
    let value = value.trim();
    if value.is_empty() {
        violations.push(FieldViolation::new(field, "must not be empty"));
    } else if value.chars().count() > MAX_TITLE_CHARS {
        violations.push(FieldViolation::new(field, format!("must be at most {MAX_TITLE_CHARS} characters")));
    } else if value.contains('\0') {
        violations.push(FieldViolation::new(field, "must not contain NUL characters"));
    }
    value.to_owned()
}

/// An optional description of at most 10000 characters.
pub(crate) fn description(value: Option<&str>, violations: &mut Vec<FieldViolation>) {
    if let Some(value) = value {
        if value.chars().count() > MAX_DESCRIPTION_CHARS {
            violations.push(FieldViolation::new(
                "description",
                format!("must be at most {MAX_DESCRIPTION_CHARS} characters"),
            ));
        } else if value.contains('\0') {
            violations.push(FieldViolation::new("description", "must not contain NUL characters"));
        }
    }
}

/// A search text: trimmed, empty means no filter.
pub(crate) fn search(value: Option<&str>, violations: &mut Vec<FieldViolation>) -> Option<String> {
    let value = value.map(str::trim).filter(|q| !q.is_empty())?;
    if value.chars().count() > MAX_QUERY_CHARS {
        violations.push(FieldViolation::new("q", format!("must be at most {MAX_QUERY_CHARS} characters")));
    } else if value.contains('\0') {
        violations.push(FieldViolation::new("q", "must not contain NUL characters"));
    }
    Some(value.to_owned())
}

/// A list's search text ([`search`]), or 422 naming `q`.
pub(crate) fn search_text(q: Option<String>) -> Result<Option<String>, WorkError> {
    let mut violations = Vec::new();
    let q = search(q.as_deref(), &mut violations);
    check(violations).map(|()| q)
}

/// `Ok` when there is nothing to complain about.
pub(crate) fn check(violations: Vec<FieldViolation>) -> Result<(), WorkError> {
    if violations.is_empty() { Ok(()) } else { Err(WorkError::Validation(violations)) }
}

/// VERSION_MISMATCH when `expected` is given and differs from `current`.
pub(crate) fn check_version(expected: Option<i64>, current: i64) -> Result<(), WorkError> {
    match expected {
        Some(expected) if expected != current => Err(WorkError::VersionMismatch { expected, current }),
        _ => Ok(()),
    }
}

/// A versioned, tenant-scoped row (a project, a task): what the shared update and delete paths
/// need of its repository.
pub(crate) trait Versioned: Sized + Send {
    /// The changes an update applies.
    type Changes: Sync;
    /// The answer for a row that is not in the organization.
    const NOT_FOUND: WorkError;
    /// The resource's name in event types (`project` → `project.updated`).
    const RESOURCE: &'static str;
    fn version(&self) -> i64;
    /// The row as its events carry it.
    fn data(&self) -> serde_json::Value;
    /// What a deletion of the row deletes with it (by cascade), as `(resource, id)`, read in the
    /// deletion's transaction (the row is locked, so nothing is added meanwhile).
    fn dependents(
        conn: &mut AsyncPgConnection,
        organization_id: Uuid,
        id: Uuid,
    ) -> impl Future<Output = QueryResult<Vec<(&'static str, Uuid)>>> + Send;
    fn unchanged(changes: &Self::Changes) -> bool;
    fn find(
        conn: &mut AsyncPgConnection,
        organization_id: Uuid,
        id: Uuid,
    ) -> impl Future<Output = QueryResult<Option<Self>>> + Send;
    fn find_for_update(
        conn: &mut AsyncPgConnection,
        organization_id: Uuid,
        id: Uuid,
    ) -> impl Future<Output = QueryResult<Option<Self>>> + Send;
    fn update(
        conn: &mut AsyncPgConnection,
        organization_id: Uuid,
        id: Uuid,
        version: i64,
        changes: &Self::Changes,
    ) -> impl Future<Output = QueryResult<Option<Self>>> + Send;
    fn delete(
        conn: &mut AsyncPgConnection,
        organization_id: Uuid,
        id: Uuid,
        version: i64,
    ) -> impl Future<Output = QueryResult<usize>> + Send;
}

/// The row, or its `NOT_FOUND`.
pub(crate) async fn get_row<R: Versioned>(pool: &PgPool, who: &Standing, id: Uuid) -> Result<R, WorkError> {
    let mut conn = db::conn(pool).await?;
    R::find(&mut conn, who.organization_id, id).await?.ok_or(R::NOT_FOUND)
}

/// Applies `changes` to the row in one transaction: lock it, check the caller's right
/// (`allowed`) and `expected_version`, then write at the locked version, with its
/// `<resource>.updated` event (the row after the change and the fields that changed).
pub(crate) async fn update_row<R: Versioned>(
    pool: &PgPool,
    relay: &Relay,
    who: &Standing,
    id: Uuid,
    changes: &R::Changes,
    expected_version: Option<i64>,
    allowed: impl Fn(&R) -> Result<(), WorkError> + Sync,
) -> Result<R, WorkError> {
    let org = who.organization_id;
    let mut conn = db::conn(pool).await?;
    conn.transaction(async |conn| {
        let current = R::find_for_update(conn, org, id).await?.ok_or(R::NOT_FOUND)?;
        allowed(&current)?;
        let version = current.version();
        check_version(expected_version, version)?;
        if R::unchanged(changes) {
            return Ok((current, false));
        }
        let updated = R::update(conn, org, id, version, changes)
            .await?
            .ok_or(WorkError::VersionMismatch { expected: version, current: version })?;
        let (before, after) = (current.data(), updated.data());
        let changed = events::changed_fields(&before, &after);
        let event = OutboxEvent::new(who, format!("{}.updated", R::RESOURCE), after, changed);
        events::record(conn, &event).await?;
        Ok((updated, true))
    })
    .await
    .map(|(row, recorded)| {
        if recorded {
            relay.hint();
        }
        row
    })
}

/// Deletes the row in one transaction, with the same checks as [`update_row`], and its
/// `<resource>.deleted` event (and one for each row deleted with it by cascade).
pub(crate) async fn delete_row<R: Versioned>(
    pool: &PgPool,
    relay: &Relay,
    who: &Standing,
    id: Uuid,
    expected_version: Option<i64>,
    allowed: impl Fn(&R) -> Result<(), WorkError> + Sync,
) -> Result<(), WorkError> {
    let org = who.organization_id;
    let mut conn = db::conn(pool).await?;
    conn.transaction(async |conn| {
        let current = R::find_for_update(conn, org, id).await?.ok_or(R::NOT_FOUND)?;
        allowed(&current)?;
        check_version(expected_version, current.version())?;
        let dependents = R::dependents(conn, org, id).await?;
        if R::delete(conn, org, id, current.version()).await? == 0 {
            return Err(R::NOT_FOUND);
        }
        for (resource, id) in dependents.into_iter().chain([(R::RESOURCE, id)]) {
            let data = serde_json::json!({ "id": id });
            events::record(conn, &OutboxEvent::new(who, format!("{resource}.deleted"), data, vec![])).await?;
        }
        Ok(())
    })
    .await?;
    relay.hint();
    Ok(())
}

/// Implements [`Versioned`] for a row type with the functions of its repository module.
macro_rules! versioned {
    ($row:ty, $changes:ty, $repo:ident, $not_found:expr, $resource:literal, $data:path) => {
        impl super::Versioned for $row {
            type Changes = $changes;
            const NOT_FOUND: WorkError = $not_found;
            const RESOURCE: &'static str = $resource;
            fn version(&self) -> i64 {
                self.version
            }
            fn data(&self) -> serde_json::Value {
                $data(self)
            }
            async fn dependents(
                conn: &mut diesel_async::AsyncPgConnection,
                organization_id: Uuid,
                id: Uuid,
            ) -> diesel::QueryResult<Vec<(&'static str, Uuid)>> {
                crate::repo::$repo::dependents(conn, organization_id, id).await
            }
            fn unchanged(changes: &$changes) -> bool {
                changes.is_empty()
            }
            async fn find(
                conn: &mut diesel_async::AsyncPgConnection,
                organization_id: Uuid,
                id: Uuid,
            ) -> diesel::QueryResult<Option<Self>> {
                crate::repo::$repo::find(conn, organization_id, id).await
            }
            async fn find_for_update(
                conn: &mut diesel_async::AsyncPgConnection,
                organization_id: Uuid,
                id: Uuid,
            ) -> diesel::QueryResult<Option<Self>> {
                crate::repo::$repo::find_for_update(conn, organization_id, id).await
            }
            async fn update(
                conn: &mut diesel_async::AsyncPgConnection,
                organization_id: Uuid,
                id: Uuid,
                version: i64,
                changes: &$changes,
            ) -> diesel::QueryResult<Option<Self>> {
                crate::repo::$repo::update(conn, organization_id, id, version, changes).await
            }
            async fn delete(
                conn: &mut diesel_async::AsyncPgConnection,
                organization_id: Uuid,
                id: Uuid,
                version: i64,
            ) -> diesel::QueryResult<usize> {
                crate::repo::$repo::delete(conn, organization_id, id, version).await
            }
        }
    };
}
pub(crate) use versioned;
