//! Organizations: creation (the caller becomes OWNER, the plan starts FREE, all in one
//! transaction), listing the caller's organizations, renaming and deletion (OWNER only).
//!
//! Slug uniqueness is left to the unique index, which is the only race-safe check; its
//! violation becomes 409 `SLUG_TAKEN`. Deletion first asks the work service to purge the
//! organization's projects and tasks, and refuses (503, nothing deleted) when work cannot; the
//! organization's API keys go with it, their revocation announced in the same transaction.
//!
//! Events: `organization.created` and the creator's `member.added` (one transaction),
//! `organization.updated` (name and/or slug, with the changed fields; a rename to the same
//! values changes nothing and records nothing) and `organization.deleted` (`{"id"}`, written in
//! the deleting transaction; the members, invitations, keys and subscription that go with it get
//! no events of their own).

use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel_async::AsyncConnection;
use operant_platform::error::FieldViolation;
use operant_platform::idempotency::{Answer, Key};
use operant_platform::paging::{Page, Paged};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::{Actor, Tenancy, audit, lock_and_stand, standing};
use crate::error::TenancyError;
use crate::events;
use crate::plans::{Plan, Role};
use crate::repo::organizations::{self, MemberOrganization, OrganizationChanges, OrganizationSort};
use crate::repo::{api_keys, memberships, subscriptions};

/// Name of the unique index on `organizations.slug`.
const SLUG_INDEX: &str = "organizations_slug_key";
/// Longest organization name (characters).
const MAX_NAME_CHARS: usize = 200;

/// The trimmed name, or why it is invalid.
pub fn validate_name(name: &str) -> Result<&str, FieldViolation> {
    let name = name.trim();
    if name.is_empty() {
        return Err(FieldViolation::new("name", "must not be empty"));
    }
    if name.chars().any(char::is_control) {
        return Err(FieldViolation::new("name", "must not contain control characters"));
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(FieldViolation::new("name", format!("must be at most {MAX_NAME_CHARS} characters")));
    }
    Ok(name)
}

/// Checks a slug: 2 to 63 characters of lowercase letters, digits and single hyphens, not
/// starting or ending with a hyphen (the schema's check constraint, stated for humans).
pub fn validate_slug(slug: &str) -> Result<&str, FieldViolation> {
    let invalid = |why: &str| Err(FieldViolation::new("slug", why));
    if !(2..=63).contains(&slug.len()) {
        return invalid("must be 2 to 63 characters long");
    }
    if !slug.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') {
        return invalid("may contain only lowercase letters, digits and hyphens");
    }
    if slug.starts_with('-') || slug.ends_with('-') || slug.contains("--") {
        return invalid("must not start or end with a hyphen or contain two hyphens in a row");
    }
    Ok(slug)
}

/// Turns a violation of the slug's unique index into `SLUG_TAKEN`.
fn slug_taken(e: DieselError) -> TenancyError {
    match e {
        DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, ref info)
            if info.constraint_name() == Some(SLUG_INDEX) =>
        {
            TenancyError::SlugTaken
        }
        other => other.into(),
    }
}

/// Both values, or every violation of the two.
fn both<A, B>(a: Result<A, FieldViolation>, b: Result<B, FieldViolation>) -> Result<(A, B), TenancyError> {
    match (a, b) {
        (Ok(a), Ok(b)) => Ok((a, b)),
        (a, b) => Err(TenancyError::Validation([a.err(), b.err()].into_iter().flatten().collect())),
    }
}

impl Tenancy {
    /// Creates an organization on FREE with `user_id` as its OWNER; with a `key`, the answer
    /// (as `respond` makes it) is kept in the same transaction and replayed to a retry.
    pub async fn create_organization<M: prost::Message + Default + Send>(
        &self,
        user_id: Uuid,
        name: &str,
        slug: &str,
        key: Option<&Key>,
        respond: impl FnOnce(MemberOrganization) -> M + Send,
    ) -> Result<Answer<M>, TenancyError> {
        let (name, slug) = both(validate_name(name), validate_slug(slug))?;
        let mut conn = self.conn().await?;
        let store = &self.idempotency;
        let answer = conn
            .transaction(async |conn| {
                if let Some(stored) = store.begin(conn, key).await? {
                    return Ok(stored.replay());
                }
                let result = conn
                    .transaction(async |conn| {
                        let id = Uuid::now_v7();
                        let organization =
                            organizations::insert(conn, id, name, slug).await.map_err(slug_taken)?;
                        let owner = memberships::insert(conn, id, user_id, Role::Owner).await?;
                        subscriptions::insert(conn, id, Plan::Free).await?;
                        let creator = Actor::User(user_id);
                        let data = events::organization(&organization, Plan::Free);
                        self.event(conn, id, &creator, "organization.created", data, &[]).await?;
                        self.event(conn, id, &creator, "member.added", events::member(&owner), &[]).await?;
                        Ok(MemberOrganization { organization, plan: Plan::Free, role: Role::Owner })
                    })
                    .await;
                store.finish(conn, key, result, respond).await
            })
            .await?;
        self.hint_events();
        answer
    }

    /// One page of the caller's organizations with the caller's role.
    pub async fn list_organizations(
        &self,
        user_id: Uuid,
        page: &Page<OrganizationSort>,
    ) -> Result<Paged<MemberOrganization>, TenancyError> {
        let mut conn = self.conn().await?;
        Ok(organizations::list_for_member(&mut conn, user_id, page).await?)
    }

    /// One organization of the caller, with the caller's role.
    pub async fn get_organization(
        &self,
        organization_id: Uuid,
        actor: &Actor,
    ) -> Result<MemberOrganization, TenancyError> {
        let mut conn = self.conn().await?;
        let standing = standing(&mut conn, organization_id, actor).await?;
        let organization =
            organizations::find(&mut conn, organization_id).await?.ok_or(TenancyError::NotAMember)?;
        Ok(MemberOrganization { organization, plan: standing.plan, role: standing.role })
    }

    /// Renames (name and/or slug) an organization (OWNER); a change is audited as `org.updated`.
    pub async fn update_organization(
        &self,
        organization_id: Uuid,
        actor: &Actor,
        name: Option<&str>,
        slug: Option<&str>,
    ) -> Result<MemberOrganization, TenancyError> {
        let (name, slug) = both(name.map(validate_name).transpose(), slug.map(validate_slug).transpose())?;
        let mut conn = self.conn().await?;
        let updated = conn
            .transaction(async |conn| {
                let standing = lock_and_stand(conn, organization_id, actor).await?;
                standing.require(Role::Owner, "update the organization")?;
                let organization =
                    organizations::find(conn, organization_id).await?.ok_or(TenancyError::NotAMember)?;
                let mut current =
                    MemberOrganization { organization, plan: standing.plan, role: standing.role };
                let before = &current.organization;
                let mut changed = Map::new();
                if let Some(name) = name.filter(|n| *n != before.name) {
                    changed.insert("name".into(), json!({ "from": before.name, "to": name }));
                }
                if let Some(slug) = slug.filter(|s| *s != before.slug) {
                    changed.insert("slug".into(), json!({ "from": before.slug, "to": slug }));
                }
                if changed.is_empty() {
                    return Ok(current);
                }
                let changes = OrganizationChanges {
                    name: name.filter(|_| changed.contains_key("name")),
                    slug: slug.filter(|_| changed.contains_key("slug")),
                };
                current.organization =
                    organizations::update(conn, organization_id, &changes).await.map_err(slug_taken)?;
                let target = ("organization", organization_id.to_string());
                let fields: Vec<&str> = changed.keys().map(String::as_str).collect();
                let data = events::organization(&current.organization, standing.plan);
                self.event(conn, organization_id, actor, "organization.updated", data, &fields).await?;
                audit(conn, organization_id, actor, "org.updated", target, Value::Object(changed)).await?;
                Ok::<_, TenancyError>(current)
            })
            .await?;
        self.hint_events();
        Ok(updated)
    }

    /// Deletes an organization (OWNER) after the work service purged its projects and tasks;
    /// its API keys are revoked everywhere when the deletion commits.
    pub async fn delete_organization(
        &self,
        organization_id: Uuid,
        actor: &Actor,
    ) -> Result<(), TenancyError> {
        self.standing_now(organization_id, actor).await?.require(Role::Owner, "delete the organization")?;
        self.peers.purge_organization(organization_id).await?;
        let mut conn = self.conn().await?;
        conn.transaction(async |conn| {
            lock_and_stand(conn, organization_id, actor)
                .await?
                .require(Role::Owner, "delete the organization")?;
            for key_id in api_keys::unrevoked_ids(conn, organization_id).await? {
                api_keys::notify_revoked(conn, key_id).await?;
            }
            organizations::delete(conn, organization_id).await?;
            // The organization is gone, its event is not: the outbox has no foreign key.
            let data = json!({ "id": organization_id });
            self.event(conn, organization_id, actor, "organization.deleted", data, &[]).await
        })
        .await?;
        self.hint_events();
        // A project created between the purge and the deletion (by a member whose access was
        // checked just before) would be orphaned; a second, best-effort purge sweeps it up.
        if let Err(e) = self.peers.purge_organization(organization_id).await {
            tracing::warn!(%organization_id, error = %e, "second purge after deletion failed");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs() {
        for ok in ["ab", "acme", "acme-corp-2", "a1-b2-c3", &"a".repeat(63)] {
            assert!(validate_slug(ok).is_ok(), "{ok} should be valid");
        }
        for bad in ["", "a", "Acme", "acme_corp", "-acme", "acme-", "ac--me", "ac me", "é-x", &"a".repeat(64)]
        {
            assert!(validate_slug(bad).is_err(), "{bad} should be invalid");
        }
    }

    #[test]
    fn names() {
        assert_eq!(validate_name("  Acme  ").ok(), Some("Acme"));
        assert!(validate_name("   ").is_err());
        assert!(validate_name("nul\0byte").is_err());
        assert!(validate_name("new\nline").is_err());
        assert!(validate_name(&"x".repeat(201)).is_err());
    }
}
