//! Memberships and roles.
//!
//! The matrix: any member lists members; ADMIN+ invites, re-roles and removes members and lists the
//! organization's users; only an OWNER grants or takes away OWNER, removes an OWNER or transfers
//! ownership; anyone may leave. The last OWNER can never be removed, demoted or leave
//! (409 `LAST_OWNER`): those changes lock the organization row first, so two owners demoting
//! each other at the same time cannot both succeed.
//!
//! People join only by accepting an invitation (see `invitations`, which also keeps the member
//! limit race-safe); the deprecated `AddMember` creates an invitation.
//!
//! Events: `member.role_changed` (the member after, `changed_fields` `["role"]`; setting the
//! role a member already has changes nothing and records nothing), `member.removed`
//! (`{"user_id"}`; a member who left is its own actor) and, for an ownership transfer, one
//! `member.role_changed` per member whose role changed (the new OWNER's, then the caller's,
//! now ADMIN).
//!
//! Member lists are bounded by the plan's user limit, so they are loaded whole, joined with the
//! users from the auth service (one `GetUsers` batch) and sorted and paged in memory; that is
//! what makes sorting by email (auth's data) possible. Sorting by `role` is by seniority (OWNER
//! first when ascending).

use operant_platform::idempotency::{Answer, Key};
use std::cmp::Ordering;

use chrono::{DateTime, Utc};
use diesel_async::AsyncConnection;
use operant_platform::paging::{Cursor, KeyKind, Page, Paged, Sort, SortField};
use serde_json::json;
use uuid::Uuid;

use super::{Actor, Tenancy, audit, lock_and_stand, standing};
use crate::error::TenancyError;
use crate::events;
use crate::peers::UserInfo;
use crate::plans::Role;
use crate::repo::memberships::{self, MembershipRow};

/// Sort fields of member lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberSort {
    JoinedAt,
    Email,
    /// Seniority: OWNER first when ascending.
    Role,
}

impl SortField for MemberSort {
    const FIELDS: &'static [(&'static str, Self)] =
        &[("joined_at", MemberSort::JoinedAt), ("email", MemberSort::Email), ("role", MemberSort::Role)];
    const DEFAULT: Sort<Self> = Sort { field: MemberSort::JoinedAt, descending: false };
    fn kind(self) -> KeyKind {
        match self {
            MemberSort::JoinedAt => KeyKind::Time,
            MemberSort::Email => KeyKind::Text,
            // The role's seniority rank (OWNER 0, ADMIN 1, MEMBER 2).
            MemberSort::Role => KeyKind::Int,
        }
    }
}

/// The seniority rank of a role: the ascending order of `role`.
fn rank(role: Role) -> i64 {
    match role {
        Role::Owner => 0,
        Role::Admin => 1,
        Role::Member => 2,
    }
}

/// The cursor of a member in the order of `field`.
fn member_cursor(m: &MemberView, field: MemberSort) -> Cursor {
    match field {
        MemberSort::JoinedAt => Cursor::time(m.joined_at, m.user_id),
        MemberSort::Email => Cursor::text(m.email.clone(), m.user_id),
        MemberSort::Role => Cursor::int(rank(m.role), m.user_id),
    }
}

/// A member against a cursor, in the order of `sort` (the order of [`compare`]).
fn compare_cursor(sort: Sort<MemberSort>, m: &MemberView, c: &Cursor) -> Ordering {
    let primary = match sort.field {
        MemberSort::Email => m.email.as_str().cmp(c.text_value()),
        MemberSort::Role => rank(m.role).cmp(&c.int_value()),
        MemberSort::JoinedAt => m.joined_at.cmp(&c.time_value()),
    };
    let ordering = primary.then_with(|| m.user_id.cmp(&c.id));
    if sort.descending { ordering.reverse() } else { ordering }
}

/// A member with the user's profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberView {
    pub user_id: Uuid,
    /// Empty when the auth service no longer knows the user.
    pub email: String,
    pub full_name: Option<String>,
    pub role: Role,
    pub joined_at: DateTime<Utc>,
}

impl MemberView {
    pub(super) fn new(row: MembershipRow, user: Option<&UserInfo>) -> Self {
        MemberView {
            user_id: row.user_id,
            email: user.map(|u| u.email.clone()).unwrap_or_default(),
            full_name: user.and_then(|u| u.full_name.clone()),
            role: row.role,
            joined_at: row.created_at,
        }
    }
}

fn compare(sort: Sort<MemberSort>, a: &MemberView, b: &MemberView) -> Ordering {
    let primary = match sort.field {
        MemberSort::Email => a.email.cmp(&b.email),
        // Seniority: OWNER before ADMIN before MEMBER.
        MemberSort::Role => b.role.cmp(&a.role),
        MemberSort::JoinedAt => a.joined_at.cmp(&b.joined_at),
    };
    let ordering = primary.then_with(|| a.user_id.cmp(&b.user_id));
    if sort.descending { ordering.reverse() } else { ordering }
}

fn target(user_id: Uuid) -> (&'static str, String) {
    ("user", user_id.to_string())
}

impl Tenancy {
    /// One page of members (any member may list them).
    pub async fn list_members(
        &self,
        organization_id: Uuid,
        actor: &Actor,
        page: &Page<MemberSort>,
    ) -> Result<Paged<MemberView>, TenancyError> {
        self.members_page(organization_id, actor, page, Role::Member).await
    }

    /// One page of the organization's users with their roles (ADMIN+).
    pub async fn list_organization_users(
        &self,
        organization_id: Uuid,
        actor: &Actor,
        page: &Page<MemberSort>,
    ) -> Result<Paged<MemberView>, TenancyError> {
        self.members_page(organization_id, actor, page, Role::Admin).await
    }

    async fn members_page(
        &self,
        organization_id: Uuid,
        actor: &Actor,
        page: &Page<MemberSort>,
        needed: Role,
    ) -> Result<Paged<MemberView>, TenancyError> {
        let rows = {
            let mut conn = self.conn().await?;
            standing(&mut conn, organization_id, actor).await?.require(needed, "list the users")?;
            memberships::list_all(&mut conn, organization_id).await?
        };
        let ids: Vec<Uuid> = rows.iter().map(|r| r.user_id).collect();
        let users = self.peers.users(&ids).await?;
        let mut members: Vec<MemberView> = rows
            .into_iter()
            .map(|row| {
                let user = users.get(&row.user_id);
                MemberView::new(row, user)
            })
            .collect();
        members.sort_by(|a, b| compare(page.sort, a, b));
        Ok(page.window(members, |m, c| compare_cursor(page.sort, m, c), member_cursor))
    }

    /// Changes a member's role.
    pub async fn update_member(
        &self,
        organization_id: Uuid,
        actor: &Actor,
        member_id: Uuid,
        role: Role,
    ) -> Result<MemberView, TenancyError> {
        // Resolve the profile before changing anything, so an unreachable auth service refuses
        // the call instead of failing it after the commit.
        self.standing_now(organization_id, actor).await?.require(Role::Admin, "change roles")?;
        let users = self.peers.users(&[member_id]).await?;
        let mut conn = self.conn().await?;
        let row = conn
            .transaction(async |conn| {
                let caller = lock_and_stand(conn, organization_id, actor).await?;
                caller.require(Role::Admin, "change roles")?;
                let member = memberships::find(conn, organization_id, member_id)
                    .await?
                    .ok_or(TenancyError::MemberNotFound)?;
                if member.role == Role::Owner || role == Role::Owner {
                    caller.require(Role::Owner, "grant or take away the OWNER role")?;
                }
                if member.role == role {
                    return Ok(member);
                }
                if member.role == Role::Owner && memberships::count_owners(conn, organization_id).await? <= 1
                {
                    return Err(TenancyError::LastOwner);
                }
                let row = memberships::set_role(conn, organization_id, member_id, role).await?;
                let details = json!({ "from": member.role.as_str(), "to": role.as_str() });
                audit(conn, organization_id, actor, "member.role_changed", target(member_id), details)
                    .await?;
                let data = events::member(&row);
                self.event(conn, organization_id, actor, "member.role_changed", data, &["role"]).await?;
                Ok(row)
            })
            .await?;
        self.hint_events();
        Ok(MemberView::new(row, users.get(&member_id)))
    }

    /// Removes a member (ADMIN+; OWNER to remove an OWNER), or the caller itself (leaving).
    pub async fn remove_member(
        &self,
        organization_id: Uuid,
        actor: &Actor,
        member_id: Uuid,
    ) -> Result<(), TenancyError> {
        let mut conn = self.conn().await?;
        conn.transaction(async |conn| {
            let caller = lock_and_stand(conn, organization_id, actor).await?;
            let leaving = *actor == Actor::User(member_id);
            if !leaving {
                caller.require(Role::Admin, "remove members")?;
            }
            let member = memberships::find(conn, organization_id, member_id)
                .await?
                .ok_or(TenancyError::MemberNotFound)?;
            if member.role == Role::Owner {
                if !leaving {
                    caller.require(Role::Owner, "remove an owner")?;
                }
                if memberships::count_owners(conn, organization_id).await? <= 1 {
                    return Err(TenancyError::LastOwner);
                }
            }
            memberships::delete(conn, organization_id, member_id).await?;
            let details = json!({ "role": member.role.as_str(), "left": leaving });
            audit(conn, organization_id, actor, "member.removed", target(member_id), details).await?;
            let data = json!({ "user_id": member_id });
            self.event(conn, organization_id, actor, "member.removed", data, &[]).await
        })
        .await?;
        self.hint_events();
        Ok(())
    }

    /// Makes another member OWNER and the caller ADMIN (OWNER only).
    pub async fn transfer_ownership<M: prost::Message + Default + Send>(
        &self,
        organization_id: Uuid,
        actor: &Actor,
        new_owner: Uuid,
        key: Option<&Key>,
        respond: impl FnOnce(()) -> M + Send,
    ) -> Result<Answer<M>, TenancyError> {
        let mut conn = self.conn().await?;
        let store = &self.idempotency;
        let answer = conn.transaction(async |conn| {
            if let Some(stored) = store.begin(conn, key).await? {
                return Ok(stored.replay());
            }
            let result = conn
                .transaction(async |conn| {
                    lock_and_stand(conn, organization_id, actor)
                        .await?
                        .require(Role::Owner, "transfer ownership")?;
                    // Only a person is ever OWNER, so only a person gets this far.
                    let Actor::User(user_id) = *actor else {
                        return Err(TenancyError::InsufficientRole("transfer ownership"));
                    };
                    if new_owner == user_id {
                        return Err(TenancyError::invalid("user_id", "you already own this organization"));
                    }
                    let member = memberships::find(conn, organization_id, new_owner)
                        .await?
                        .ok_or(TenancyError::MemberNotFound)?;
                    let promoted = memberships::set_role(conn, organization_id, new_owner, Role::Owner).await?;
                    let demoted = memberships::set_role(conn, organization_id, user_id, Role::Admin).await?;
                    let details =
                        json!({ "from": user_id, "to": new_owner, "previous_role": member.role.as_str() });
                    audit(conn, organization_id, actor, "ownership.transferred", target(new_owner), details)
                        .await?;
                    // A transfer is two role changes: the new owner's (unless already an OWNER),
                    // then the caller's.
                    if member.role != Role::Owner {
                        let data = events::member(&promoted);
                        self.event(conn, organization_id, actor, "member.role_changed", data, &["role"]).await?;
                    }
                    let data = events::member(&demoted);
                    self.event(conn, organization_id, actor, "member.role_changed", data, &["role"]).await
                })
                .await;
            store.finish(conn, key, result, respond).await
        })
        .await?;
        self.hint_events();
        answer
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(n: u128, email: &str, role: Role, joined: i64) -> MemberView {
        MemberView {
            user_id: Uuid::from_u128(n),
            email: email.into(),
            full_name: None,
            role,
            joined_at: DateTime::from_timestamp(joined, 0).unwrap_or_default(),
        }
    }

    fn sorted(field: MemberSort, descending: bool) -> Vec<u128> {
        let sort = Sort { field, descending };
        let mut members = [
            member(1, "c@x.io", Role::Member, 10),
            member(2, "a@x.io", Role::Owner, 30),
            member(3, "b@x.io", Role::Admin, 20),
            member(4, "d@x.io", Role::Member, 10),
        ];
        members.sort_by(|a, b| compare(sort, a, b));
        members.iter().map(|m| m.user_id.as_u128()).collect()
    }

    #[test]
    fn sorts_with_id_tie_break() {
        assert_eq!(sorted(MemberSort::JoinedAt, false), [1, 4, 3, 2]);
        assert_eq!(sorted(MemberSort::JoinedAt, true), [2, 3, 4, 1]);
        assert_eq!(sorted(MemberSort::Email, false), [2, 3, 1, 4]);
        assert_eq!(sorted(MemberSort::Role, false), [2, 3, 1, 4]);
        assert_eq!(sorted(MemberSort::Role, true), [4, 1, 3, 2]);
    }
}
