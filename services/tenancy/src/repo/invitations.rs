//! `invitations`: email addresses invited into an organization, each with the SHA-256 of its
//! mailed single-use token. "Live" means pending and not expired; live invitations hold seats.

use chrono::{DateTime, Utc};
use diesel::dsl::now;
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use operant_platform::keyset;
use operant_platform::paging::{Cursor, KeyKind, Page, Paged, Sort, SortField};
use uuid::Uuid;

use crate::plans::{InvitationState, Role};
use crate::schema::{invitations, organizations};

/// One invitation row.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = invitations, check_for_backend(diesel::pg::Pg))]
pub struct InvitationRow {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub email: String,
    pub role: Role,
    pub status: InvitationState,
    pub invited_by: Uuid,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// Sort fields of invitation lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvitationSort {
    CreatedAt,
    ExpiresAt,
    Email,
}

impl SortField for InvitationSort {
    const FIELDS: &'static [(&'static str, Self)] = &[
        ("created_at", InvitationSort::CreatedAt),
        ("expires_at", InvitationSort::ExpiresAt),
        ("email", InvitationSort::Email),
    ];
    const DEFAULT: Sort<Self> = Sort { field: InvitationSort::CreatedAt, descending: true };
    fn kind(self) -> KeyKind {
        match self {
            InvitationSort::CreatedAt | InvitationSort::ExpiresAt => KeyKind::Time,
            InvitationSort::Email => KeyKind::Text,
        }
    }
}

/// The cursor of `row` in the order of `field`.
pub fn cursor(row: &InvitationRow, field: InvitationSort) -> Cursor {
    match field {
        InvitationSort::CreatedAt => Cursor::time(row.created_at, row.id),
        InvitationSort::ExpiresAt => Cursor::time(row.expires_at, row.id),
        InvitationSort::Email => Cursor::text(row.email.clone(), row.id),
    }
}

/// Which invitations a list shows (expired is pending past `expires_at`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusFilter {
    Any,
    Live,
    Expired,
    Stored(InvitationState),
}

/// A new invitation.
pub struct NewInvitation<'a> {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub email: &'a str,
    pub role: Role,
    pub token_hash: &'a [u8],
    pub invited_by: Uuid,
    pub expires_at: DateTime<Utc>,
}

pub async fn insert(conn: &mut AsyncPgConnection, new: &NewInvitation<'_>) -> QueryResult<InvitationRow> {
    diesel::insert_into(invitations::table)
        .values((
            invitations::id.eq(new.id),
            invitations::organization_id.eq(new.organization_id),
            invitations::email.eq(new.email),
            invitations::role.eq(new.role),
            invitations::token_hash.eq(new.token_hash),
            invitations::invited_by.eq(new.invited_by),
            invitations::expires_at.eq(new.expires_at),
        ))
        .returning(InvitationRow::as_returning())
        .get_result(conn)
        .await
}

/// The organization's invitation `id`, locked until the transaction ends.
pub async fn lock(
    conn: &mut AsyncPgConnection,
    organization_id: Uuid,
    id: Uuid,
) -> QueryResult<Option<InvitationRow>> {
    invitations::table
        .filter(invitations::organization_id.eq(organization_id))
        .filter(invitations::id.eq(id))
        .select(InvitationRow::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()
}

/// The invitation `id` addressed to `email`, whatever the organization.
pub async fn find_for_email(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    email: &str,
) -> QueryResult<Option<InvitationRow>> {
    invitations::table
        .filter(invitations::id.eq(id))
        .filter(invitations::email.eq(email))
        .select(InvitationRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// The invitation whose token hashes to `token_hash`.
pub async fn find_by_token(
    conn: &mut AsyncPgConnection,
    token_hash: &[u8],
) -> QueryResult<Option<InvitationRow>> {
    invitations::table
        .filter(invitations::token_hash.eq(token_hash))
        .select(InvitationRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// Whether a live invitation other than `except` invites `email` into the organization.
pub async fn live_exists(
    conn: &mut AsyncPgConnection,
    organization_id: Uuid,
    email: &str,
    except: Option<Uuid>,
) -> QueryResult<bool> {
    let query = invitations::table
        .filter(invitations::organization_id.eq(organization_id))
        .filter(invitations::email.eq(email))
        .filter(invitations::status.eq(InvitationState::Pending))
        .filter(invitations::expires_at.gt(now))
        .filter(invitations::id.ne(except.unwrap_or_else(Uuid::nil)));
    diesel::select(diesel::dsl::exists(query)).get_result(conn).await
}

/// How many live invitations (other than `except`) hold a seat of the organization.
pub async fn count_live(
    conn: &mut AsyncPgConnection,
    organization_id: Uuid,
    except: Option<Uuid>,
) -> QueryResult<i64> {
    invitations::table
        .filter(invitations::organization_id.eq(organization_id))
        .filter(invitations::status.eq(InvitationState::Pending))
        .filter(invitations::expires_at.gt(now))
        .filter(invitations::id.ne(except.unwrap_or_else(Uuid::nil)))
        .count()
        .get_result(conn)
        .await
}

type Boxed<'a> = invitations::BoxedQuery<'a, diesel::pg::Pg>;

fn filtered<'a>(filter: StatusFilter) -> Boxed<'a> {
    let query = invitations::table.into_boxed();
    match filter {
        StatusFilter::Any => query,
        StatusFilter::Live => query
            .filter(invitations::status.eq(InvitationState::Pending))
            .filter(invitations::expires_at.gt(now)),
        StatusFilter::Expired => query
            .filter(invitations::status.eq(InvitationState::Pending))
            .filter(invitations::expires_at.le(now)),
        StatusFilter::Stored(state) => query.filter(invitations::status.eq(state)),
    }
}

/// `query` after the page's cursor (when it has one) and in its order.
fn paged_order<'a>(mut query: Boxed<'a>, page: &Page<InvitationSort>) -> Boxed<'a> {
    if let Some(after) = &page.after {
        let (desc, id) = (page.sort.descending, after.id);
        query = match page.sort.field {
            InvitationSort::CreatedAt => {
                keyset!(query, invitations::created_at, invitations::id, after.time_value(), id, desc)
            }
            InvitationSort::ExpiresAt => {
                keyset!(query, invitations::expires_at, invitations::id, after.time_value(), id, desc)
            }
            InvitationSort::Email => {
                keyset!(query, invitations::email, invitations::id, after.text_value().to_owned(), id, desc)
            }
        };
    }
    ordered(query, page.sort)
}

fn ordered(query: Boxed<'_>, sort: Sort<InvitationSort>) -> Boxed<'_> {
    // The id breaks ties, in the same direction.
    match (sort.field, sort.descending) {
        (InvitationSort::CreatedAt, false) => {
            query.order((invitations::created_at.asc(), invitations::id.asc()))
        }
        (InvitationSort::CreatedAt, true) => {
            query.order((invitations::created_at.desc(), invitations::id.desc()))
        }
        (InvitationSort::ExpiresAt, false) => {
            query.order((invitations::expires_at.asc(), invitations::id.asc()))
        }
        (InvitationSort::ExpiresAt, true) => {
            query.order((invitations::expires_at.desc(), invitations::id.desc()))
        }
        (InvitationSort::Email, false) => query.order((invitations::email.asc(), invitations::id.asc())),
        (InvitationSort::Email, true) => query.order((invitations::email.desc(), invitations::id.desc())),
    }
}

/// One page of the organization's invitations with `filter`, and how many there are.
pub async fn page(
    conn: &mut AsyncPgConnection,
    organization_id: Uuid,
    filter: StatusFilter,
    page: &Page<InvitationSort>,
) -> QueryResult<Paged<InvitationRow>> {
    let total = filtered(filter)
        .filter(invitations::organization_id.eq(organization_id))
        .count()
        .get_result(conn)
        .await?;
    let rows = paged_order(filtered(filter).filter(invitations::organization_id.eq(organization_id)), page)
        .offset(page.skip)
        .limit(page.fetch())
        .select(InvitationRow::as_select())
        .load(conn)
        .await?;
    Ok(page.paged(rows, total, cursor))
}

/// One page of the live invitations addressed to `email` with their organization's name, and
/// how many there are.
pub async fn page_for_email(
    conn: &mut AsyncPgConnection,
    email: &str,
    page: &Page<InvitationSort>,
) -> QueryResult<Paged<(InvitationRow, String)>> {
    let total =
        filtered(StatusFilter::Live).filter(invitations::email.eq(email)).count().get_result(conn).await?;
    let ids: Vec<Uuid> = paged_order(filtered(StatusFilter::Live).filter(invitations::email.eq(email)), page)
        .offset(page.skip)
        .limit(page.fetch())
        .select(invitations::id)
        .load(conn)
        .await?;
    let mut rows: Vec<(InvitationRow, String)> = invitations::table
        .inner_join(organizations::table)
        .filter(invitations::id.eq_any(&ids))
        .select((InvitationRow::as_select(), organizations::name))
        .load(conn)
        .await?;
    rows.sort_by_key(|(row, _)| ids.iter().position(|id| *id == row.id));
    Ok(page.paged(rows, total, |(row, _), field| cursor(row, field)))
}

/// Sets the state of a pending invitation (accepted, declined, revoked) and who did it.
pub async fn respond(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    state: InvitationState,
    by: Uuid,
) -> QueryResult<InvitationRow> {
    diesel::update(invitations::table.find(id))
        .set((
            invitations::status.eq(state),
            invitations::responded_at.eq(now),
            invitations::responded_by.eq(by),
        ))
        .returning(InvitationRow::as_returning())
        .get_result(conn)
        .await
}

/// Gives the invitation a new token and expiry (the old token stops working).
pub async fn renew(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    token_hash: &[u8],
    expires_at: DateTime<Utc>,
) -> QueryResult<InvitationRow> {
    diesel::update(invitations::table.find(id))
        .set((invitations::token_hash.eq(token_hash), invitations::expires_at.eq(expires_at)))
        .returning(InvitationRow::as_returning())
        .get_result(conn)
        .await
}
