//! Plans, usage, features and the audit log.
//!
//! Usage combines the member count (ours) with the project count (the work service's, over
//! gRPC); when work cannot answer, the call is refused with 503 rather than reporting a guess.
//! A plan change takes the `members` and `api_keys` quota locks and the subscription row lock,
//! so it cannot race a member addition or a key creation: a downgrade is either refused with 409 `PLAN_LIMIT_EXCEEDED` (one
//! field violation per limit in the way, `users` and/or `projects`) or sees every member. A
//! change records `subscription.changed` (the subscription after it, `changed_fields`
//! `["plan"]`); choosing the current plan changes nothing and records nothing.

use diesel_async::AsyncConnection;
use operant_platform::db::lock_quota;
use operant_platform::error::FieldViolation;
use operant_platform::idempotency::{Answer, Key};
use operant_platform::paging::{Cursor, KeyKind, Page, Paged, Sort, SortField};
use serde_json::json;
use uuid::Uuid;

use super::api_keys::QUOTA as API_KEYS_QUOTA;
use super::{Actor, Tenancy, audit, lock_and_stand, standing};
use crate::error::TenancyError;
use crate::events;
use crate::plans::{ALL_FEATURES, AUDIT_LOG, Plan, Role};
use crate::repo::audit_events::{self, AuditEventRow};
use crate::repo::{api_keys, memberships, subscriptions};

/// A plan with the organization's usage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SubscriptionView {
    pub plan: Plan,
    /// Members.
    pub users: i64,
    /// Projects (counted by the work service).
    pub projects: i64,
    /// Active API keys.
    pub api_keys: i64,
}

/// One violation per limit of `plan` that the usage exceeds.
fn exceeded(plan: Plan, users: i64, projects: i64, keys: i64) -> Vec<FieldViolation> {
    let spec = plan.spec();
    let mut violations = Vec::new();
    if users > spec.max_users {
        violations.push(FieldViolation::new(
            "users",
            format!("{users} members, the {} plan allows {}", plan.as_str(), spec.max_users),
        ));
    }
    if projects > spec.max_projects {
        violations.push(FieldViolation::new(
            "projects",
            format!("{projects} projects, the {} plan allows {}", plan.as_str(), spec.max_projects),
        ));
    }
    if keys > spec.max_api_keys {
        violations.push(FieldViolation::new(
            "api_keys",
            format!("{keys} API keys, the {} plan allows {}", plan.as_str(), spec.max_api_keys),
        ));
    }
    violations
}

/// The audit log's one order: newest first (`-created_at`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditSort {
    CreatedAt,
}

impl SortField for AuditSort {
    const FIELDS: &'static [(&'static str, Self)] = &[("created_at", AuditSort::CreatedAt)];
    const DEFAULT: Sort<Self> = Sort { field: AuditSort::CreatedAt, descending: true };
    fn kind(self) -> KeyKind {
        KeyKind::Time
    }
}

impl Tenancy {
    /// The plan with its usage (any member).
    pub async fn get_subscription(
        &self,
        organization_id: Uuid,
        actor: &Actor,
    ) -> Result<SubscriptionView, TenancyError> {
        let (plan, users, api_keys) = {
            let mut conn = self.conn().await?;
            let standing = standing(&mut conn, organization_id, actor).await?;
            let users = memberships::count(&mut conn, organization_id).await?;
            (standing.plan, users, api_keys::count_active(&mut conn, organization_id).await?)
        };
        let projects = self.peers.project_count(organization_id).await?;
        Ok(SubscriptionView { plan, users, projects, api_keys })
    }

    /// Changes the plan (OWNER), refusing a downgrade that current usage exceeds.
    pub async fn update_subscription<M: prost::Message + Default + Send>(
        &self,
        organization_id: Uuid,
        actor: &Actor,
        plan: Plan,
        key: Option<&Key>,
        respond: impl FnOnce(SubscriptionView) -> M + Send,
    ) -> Result<Answer<M>, TenancyError> {
        self.standing_now(organization_id, actor).await?.require(Role::Owner, "change the plan")?;
        let projects = self.peers.project_count(organization_id).await?;
        let mut conn = self.conn().await?;
        let store = &self.idempotency;
        let answer = conn
            .transaction(async |conn| {
                if let Some(stored) = store.begin(conn, key).await? {
                    return Ok(stored.replay());
                }
                let result = conn
                    .transaction(async |conn| {
                        lock_quota(conn, organization_id, "members").await?;
                        lock_quota(conn, organization_id, API_KEYS_QUOTA).await?;
                        lock_and_stand(conn, organization_id, actor)
                            .await?
                            .require(Role::Owner, "change the plan")?;
                        let current = subscriptions::lock_plan(conn, organization_id)
                            .await?
                            .ok_or(TenancyError::NotAMember)?;
                        let users = memberships::count(conn, organization_id).await?;
                        let api_keys = api_keys::count_active(conn, organization_id).await?;
                        if plan != current {
                            let violations = exceeded(plan, users, projects, api_keys);
                            if !violations.is_empty() {
                                return Err(TenancyError::PlanLimitExceeded {
                                    plan: plan.as_str(),
                                    violations,
                                });
                            }
                            subscriptions::set_plan(conn, organization_id, plan).await?;
                            let details = json!({ "from": current.as_str(), "to": plan.as_str() });
                            let target = ("subscription", organization_id.to_string());
                            audit(conn, organization_id, actor, "plan.changed", target, details).await?;
                            let data = events::subscription(organization_id, plan, users, projects, api_keys);
                            self.event(conn, organization_id, actor, "subscription.changed", data, &["plan"])
                                .await?;
                        }
                        Ok(SubscriptionView { plan, users, projects, api_keys })
                    })
                    .await;
                store.finish(conn, key, result, respond).await
            })
            .await?;
        self.hint_events();
        answer
    }

    /// Every known feature and whether the plan enables it (any member).
    pub async fn list_features(
        &self,
        organization_id: Uuid,
        actor: &Actor,
    ) -> Result<Vec<(&'static str, bool)>, TenancyError> {
        let standing = self.standing_now(organization_id, actor).await?;
        Ok(ALL_FEATURES.iter().map(|f| (*f, standing.plan.has_feature(f))).collect())
    }

    /// One page of the audit log, newest first (ADMIN+, feature `audit_log`).
    pub async fn list_audit_events(
        &self,
        organization_id: Uuid,
        actor: &Actor,
        page: &Page<AuditSort>,
    ) -> Result<Paged<AuditEventRow>, TenancyError> {
        let mut conn = self.conn().await?;
        let standing = standing(&mut conn, organization_id, actor).await?;
        standing.require(Role::Admin, "read the audit log")?;
        standing.require_feature(AUDIT_LOG)?;
        let (rows, total) =
            audit_events::page(&mut conn, organization_id, page.after.as_ref(), page.skip, page.fetch())
                .await?;
        Ok(page.paged(rows, total, |row, _| Cursor::time(row.created_at, row.id)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_each_limit_in_the_way() {
        assert!(exceeded(Plan::Free, 3, 5, 2).is_empty());
        let fields = |v: Vec<FieldViolation>| v.into_iter().map(|v| v.field).collect::<Vec<_>>();
        assert_eq!(fields(exceeded(Plan::Free, 4, 5, 2)), ["users"]);
        assert_eq!(fields(exceeded(Plan::Free, 3, 6, 2)), ["projects"]);
        assert_eq!(fields(exceeded(Plan::Free, 3, 5, 3)), ["api_keys"]);
        assert_eq!(fields(exceeded(Plan::Free, 4, 6, 2)), ["users", "projects"]);
        assert!(exceeded(Plan::Pro, 50, 100, 100).is_empty());
    }
}
