//! Plans, usage, features and the audit log.
//!
//! Usage combines the member count (ours) with the project count (the work service's, over
//! gRPC); when work cannot answer, the call is refused with 503 rather than reporting a guess.
//! A plan change takes the `members` quota lock and the subscription row lock, so it cannot
//! race a member addition: a downgrade is either refused with 409 `PLAN_LIMIT_EXCEEDED` (one
//! field violation per limit in the way, `users` and/or `projects`) or sees every member.

use diesel_async::AsyncConnection;
use operant_platform::db::lock_quota;
use operant_platform::error::FieldViolation;
use operant_platform::paging::{Page, Sort, SortField};
use serde_json::json;
use uuid::Uuid;

use super::{Tenancy, audit, lock_and_stand, standing};
use crate::error::TenancyError;
use crate::plans::{ALL_FEATURES, AUDIT_LOG, Plan, Role};
use crate::repo::audit_events::{self, AuditEventRow};
use crate::repo::{memberships, subscriptions};

/// A plan with the organization's usage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SubscriptionView {
    pub plan: Plan,
    /// Members.
    pub users: i64,
    /// Projects (counted by the work service).
    pub projects: i64,
}

/// One violation per limit of `plan` that the usage exceeds.
fn exceeded(plan: Plan, users: i64, projects: i64) -> Vec<FieldViolation> {
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
}

impl Tenancy {
    /// The plan with its usage (any member).
    pub async fn get_subscription(
        &self,
        organization_id: Uuid,
        user_id: Uuid,
    ) -> Result<SubscriptionView, TenancyError> {
        let (plan, users) = {
            let mut conn = self.conn().await?;
            let standing = standing(&mut conn, organization_id, user_id).await?;
            (standing.plan, memberships::count(&mut conn, organization_id).await?)
        };
        let projects = self.peers.project_count(organization_id).await?;
        Ok(SubscriptionView { plan, users, projects })
    }

    /// Changes the plan (OWNER), refusing a downgrade that current usage exceeds.
    pub async fn update_subscription(
        &self,
        organization_id: Uuid,
        user_id: Uuid,
        plan: Plan,
    ) -> Result<SubscriptionView, TenancyError> {
        self.standing_now(organization_id, user_id).await?.require(Role::Owner, "change the plan")?;
        let projects = self.peers.project_count(organization_id).await?;
        let mut conn = self.conn().await?;
        conn.transaction(async |conn| {
            lock_quota(conn, organization_id, "members").await?;
            lock_and_stand(conn, organization_id, user_id).await?.require(Role::Owner, "change the plan")?;
            let current =
                subscriptions::lock_plan(conn, organization_id).await?.ok_or(TenancyError::NotAMember)?;
            let users = memberships::count(conn, organization_id).await?;
            if plan != current {
                let violations = exceeded(plan, users, projects);
                if !violations.is_empty() {
                    return Err(TenancyError::PlanLimitExceeded { plan: plan.as_str(), violations });
                }
                subscriptions::set_plan(conn, organization_id, plan).await?;
                let details = json!({ "from": current.as_str(), "to": plan.as_str() });
                let target = ("subscription", organization_id.to_string());
                audit(conn, organization_id, user_id, "plan.changed", target, details).await?;
            }
            Ok(SubscriptionView { plan, users, projects })
        })
        .await
    }

    /// Every known feature and whether the plan enables it (any member).
    pub async fn list_features(
        &self,
        organization_id: Uuid,
        user_id: Uuid,
    ) -> Result<Vec<(&'static str, bool)>, TenancyError> {
        let standing = self.standing_now(organization_id, user_id).await?;
        Ok(ALL_FEATURES.iter().map(|f| (*f, standing.plan.has_feature(f))).collect())
    }

    /// One page of the audit log, newest first (ADMIN+, feature `audit_log`).
    pub async fn list_audit_events(
        &self,
        organization_id: Uuid,
        user_id: Uuid,
        page: &Page<AuditSort>,
    ) -> Result<(Vec<AuditEventRow>, i64), TenancyError> {
        let mut conn = self.conn().await?;
        let standing = standing(&mut conn, organization_id, user_id).await?;
        standing.require(Role::Admin, "read the audit log")?;
        standing.require_feature(AUDIT_LOG)?;
        Ok(audit_events::page(&mut conn, organization_id, page.skip, page.limit).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_each_limit_in_the_way() {
        assert!(exceeded(Plan::Free, 3, 5).is_empty());
        let fields = |v: Vec<FieldViolation>| v.into_iter().map(|v| v.field).collect::<Vec<_>>();
        assert_eq!(fields(exceeded(Plan::Free, 4, 5)), ["users"]);
        assert_eq!(fields(exceeded(Plan::Free, 3, 6)), ["projects"]);
        assert_eq!(fields(exceeded(Plan::Free, 4, 6)), ["users", "projects"]);
        assert!(exceeded(Plan::Pro, 50, 100).is_empty());
    }
}
