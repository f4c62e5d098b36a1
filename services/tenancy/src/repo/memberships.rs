//! `memberships`: who belongs to which organization with which role. Also home of the access
//! query (membership joined with the subscription) that every RPC and `Authorize` start with.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::standings;
use crate::plans::{Plan, Role};
use crate::schema::{memberships, subscriptions};

/// One membership row.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = memberships, check_for_backend(diesel::pg::Pg))]
pub struct MembershipRow {
    pub organization_id: Uuid,
    pub user_id: Uuid,
    pub role: Role,
    pub created_at: DateTime<Utc>,
}

/// The user's role and the organization's plan, in one primary-key lookup joined with the
/// subscription's primary key; `None` when the user is not a member or the organization does not
/// exist. This is the `Authorize` hot path, and it is never cached.
pub async fn access(
    conn: &mut AsyncPgConnection,
    organization_id: Uuid,
    user_id: Uuid,
) -> QueryResult<Option<(Role, Plan)>> {
    memberships::table
        .inner_join(subscriptions::table.on(subscriptions::organization_id.eq(memberships::organization_id)))
        .filter(memberships::organization_id.eq(organization_id))
        .filter(memberships::user_id.eq(user_id))
        .select((memberships::role, subscriptions::plan))
        .first(conn)
        .await
        .optional()
}

pub async fn insert(
    conn: &mut AsyncPgConnection,
    organization_id: Uuid,
    user_id: Uuid,
    role: Role,
) -> QueryResult<MembershipRow> {
    let row = diesel::insert_into(memberships::table)
        .values((
            memberships::organization_id.eq(organization_id),
            memberships::user_id.eq(user_id),
            memberships::role.eq(role),
        ))
        .returning(MembershipRow::as_returning())
        .get_result(conn)
        .await?;
    standings::announce(conn, organization_id).await?;
    Ok(row)
}

pub async fn find(
    conn: &mut AsyncPgConnection,
    organization_id: Uuid,
    user_id: Uuid,
) -> QueryResult<Option<MembershipRow>> {
    memberships::table
        .filter(memberships::organization_id.eq(organization_id))
        .filter(memberships::user_id.eq(user_id))
        .select(MembershipRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// Every member of the organization, oldest first. Bounded by the plan's user limit (at most
/// 50), which is why member lists are sorted and paged in memory after the users are resolved.
pub async fn list_all(
    conn: &mut AsyncPgConnection,
    organization_id: Uuid,
) -> QueryResult<Vec<MembershipRow>> {
    memberships::table
        .filter(memberships::organization_id.eq(organization_id))
        .order((memberships::created_at.asc(), memberships::user_id.asc()))
        .select(MembershipRow::as_select())
        .load(conn)
        .await
}

pub async fn count(conn: &mut AsyncPgConnection, organization_id: Uuid) -> QueryResult<i64> {
    memberships::table.filter(memberships::organization_id.eq(organization_id)).count().get_result(conn).await
}

pub async fn count_owners(conn: &mut AsyncPgConnection, organization_id: Uuid) -> QueryResult<i64> {
    memberships::table
        .filter(memberships::organization_id.eq(organization_id))
        .filter(memberships::role.eq(Role::Owner))
        .count()
        .get_result(conn)
        .await
}

pub async fn set_role(
    conn: &mut AsyncPgConnection,
    organization_id: Uuid,
    user_id: Uuid,
    role: Role,
) -> QueryResult<MembershipRow> {
    let row = diesel::update(
        memberships::table
            .filter(memberships::organization_id.eq(organization_id))
            .filter(memberships::user_id.eq(user_id)),
    )
    .set(memberships::role.eq(role))
    .returning(MembershipRow::as_returning())
    .get_result(conn)
    .await?;
    standings::announce(conn, organization_id).await?;
    Ok(row)
}

pub async fn delete(
    conn: &mut AsyncPgConnection,
    organization_id: Uuid,
    user_id: Uuid,
) -> QueryResult<usize> {
    let deleted = diesel::delete(
        memberships::table
            .filter(memberships::organization_id.eq(organization_id))
            .filter(memberships::user_id.eq(user_id)),
    )
    .execute(conn)
    .await?;
    standings::announce(conn, organization_id).await?;
    Ok(deleted)
}
