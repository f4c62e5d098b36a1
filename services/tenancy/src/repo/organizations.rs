//! `organizations`: the tenants themselves, read together with the caller's role and the plan.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use operant_platform::keyset;
use operant_platform::paging::{Cursor, KeyKind, Page, Paged, Sort, SortField};
use uuid::Uuid;

use crate::plans::{Plan, Role};
use crate::schema::{memberships, organizations, subscriptions};

/// One organization row.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = organizations, check_for_backend(diesel::pg::Pg))]
pub struct OrganizationRow {
    pub id: Uuid,
    pub name: String,
    pub slug: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// An organization as one of its members sees it.
#[derive(Debug, Clone)]
pub struct MemberOrganization {
    pub organization: OrganizationRow,
    pub plan: Plan,
    pub role: Role,
}

/// Sort fields of [`list_for_member`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrganizationSort {
    Name,
    Slug,
    CreatedAt,
}

impl SortField for OrganizationSort {
    const FIELDS: &'static [(&'static str, Self)] = &[
        ("name", OrganizationSort::Name),
        ("slug", OrganizationSort::Slug),
        ("created_at", OrganizationSort::CreatedAt),
    ];
    const DEFAULT: Sort<Self> = Sort { field: OrganizationSort::CreatedAt, descending: true };
    fn kind(self) -> KeyKind {
        match self {
            OrganizationSort::Name | OrganizationSort::Slug => KeyKind::Text,
            OrganizationSort::CreatedAt => KeyKind::Time,
        }
    }
}

/// The cursor of a listed organization in the order of `field`.
fn cursor(item: &MemberOrganization, field: OrganizationSort) -> Cursor {
    let row = &item.organization;
    match field {
        OrganizationSort::Name => Cursor::text(row.name.clone(), row.id),
        OrganizationSort::Slug => Cursor::text(row.slug.clone(), row.id),
        OrganizationSort::CreatedAt => Cursor::time(row.created_at, row.id),
    }
}

/// Fields to change; `None` leaves a field as it is.
#[derive(Debug, AsChangeset)]
#[diesel(table_name = organizations)]
pub struct OrganizationChanges<'a> {
    pub name: Option<&'a str>,
    pub slug: Option<&'a str>,
}

pub async fn insert(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    name: &str,
    slug: &str,
) -> QueryResult<OrganizationRow> {
    diesel::insert_into(organizations::table)
        .values((organizations::id.eq(id), organizations::name.eq(name), organizations::slug.eq(slug)))
        .returning(OrganizationRow::as_returning())
        .get_result(conn)
        .await
}

/// One page of the organizations `user_id` belongs to, and how many there are.
pub async fn list_for_member(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    page: &Page<OrganizationSort>,
) -> QueryResult<Paged<MemberOrganization>> {
    let total = memberships::table.filter(memberships::user_id.eq(user_id)).count().get_result(conn).await?;
    let mut query = organizations::table
        .inner_join(memberships::table)
        .inner_join(subscriptions::table)
        .filter(memberships::user_id.eq(user_id))
        .select((OrganizationRow::as_select(), subscriptions::plan, memberships::role))
        .into_boxed();
    if let Some(after) = &page.after {
        let (desc, id) = (page.sort.descending, after.id);
        query = match page.sort.field {
            OrganizationSort::Name => {
                keyset!(
                    query,
                    organizations::name,
                    organizations::id,
                    after.text_value().to_owned(),
                    id,
                    desc
                )
            }
            OrganizationSort::Slug => {
                keyset!(
                    query,
                    organizations::slug,
                    organizations::id,
                    after.text_value().to_owned(),
                    id,
                    desc
                )
            }
            OrganizationSort::CreatedAt => {
                keyset!(query, organizations::created_at, organizations::id, after.time_value(), id, desc)
            }
        };
    }
    // The id breaks ties, in the same direction.
    query = match (page.sort.field, page.sort.descending) {
        (OrganizationSort::Name, false) => query.order((organizations::name.asc(), organizations::id.asc())),
        (OrganizationSort::Name, true) => query.order((organizations::name.desc(), organizations::id.desc())),
        (OrganizationSort::Slug, false) => query.order((organizations::slug.asc(), organizations::id.asc())),
        (OrganizationSort::Slug, true) => query.order((organizations::slug.desc(), organizations::id.desc())),
        (OrganizationSort::CreatedAt, false) => {
            query.order((organizations::created_at.asc(), organizations::id.asc()))
        }
        (OrganizationSort::CreatedAt, true) => {
            query.order((organizations::created_at.desc(), organizations::id.desc()))
        }
    };
    let rows =
        query.offset(page.skip).limit(page.fetch()).load::<(OrganizationRow, Plan, Role)>(conn).await?;
    let items = rows
        .into_iter()
        .map(|(organization, plan, role)| MemberOrganization { organization, plan, role })
        .collect();
    Ok(page.paged(items, total, cursor))
}

/// Locks the organization row (`FOR UPDATE`, until the transaction ends) if `user_id` is one of
/// its members; `false` when not (nothing is locked then). Membership changes that must see a
/// stable set of owners take this lock first, so "the last owner" is decided by one transaction
/// at a time.
pub async fn lock_for_member(
    conn: &mut AsyncPgConnection,
    organization_id: Uuid,
    user_id: Uuid,
) -> QueryResult<bool> {
    let locked = organizations::table
        .filter(organizations::id.eq(organization_id))
        .filter(diesel::dsl::exists(
            memberships::table
                .filter(memberships::organization_id.eq(organization_id))
                .filter(memberships::user_id.eq(user_id)),
        ))
        .select(organizations::id)
        .for_update()
        .first::<Uuid>(conn)
        .await
        .optional()?;
    Ok(locked.is_some())
}

/// Locks the organization row (`FOR UPDATE`, until the transaction ends) whoever asks, and
/// returns its name; `None` when it does not exist. For callers whose right to the organization
/// is not a membership: a user joining (accepting an invitation), an API key.
pub async fn lock(conn: &mut AsyncPgConnection, organization_id: Uuid) -> QueryResult<Option<String>> {
    organizations::table
        .filter(organizations::id.eq(organization_id))
        .select(organizations::name)
        .for_update()
        .first(conn)
        .await
        .optional()
}

/// The organization's name.
pub async fn name(conn: &mut AsyncPgConnection, organization_id: Uuid) -> QueryResult<Option<String>> {
    organizations::table
        .filter(organizations::id.eq(organization_id))
        .select(organizations::name)
        .first(conn)
        .await
        .optional()
}

/// The organization row.
pub async fn find(
    conn: &mut AsyncPgConnection,
    organization_id: Uuid,
) -> QueryResult<Option<OrganizationRow>> {
    organizations::table
        .filter(organizations::id.eq(organization_id))
        .select(OrganizationRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// Applies `changes` and bumps `updated_at`.
pub async fn update(
    conn: &mut AsyncPgConnection,
    organization_id: Uuid,
    changes: &OrganizationChanges<'_>,
) -> QueryResult<OrganizationRow> {
    diesel::update(organizations::table.filter(organizations::id.eq(organization_id)))
        .set((changes, organizations::updated_at.eq(diesel::dsl::now)))
        .returning(OrganizationRow::as_returning())
        .get_result(conn)
        .await
}

/// Deletes the organization; memberships, the subscription, audit events and API keys cascade.
pub async fn delete(conn: &mut AsyncPgConnection, organization_id: Uuid) -> QueryResult<usize> {
    let deleted = diesel::delete(organizations::table.filter(organizations::id.eq(organization_id)))
        .execute(conn)
        .await?;
    super::standings::announce(conn, organization_id).await?;
    Ok(deleted)
}
