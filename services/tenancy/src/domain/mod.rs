//! The tenancy rules: who may do what in an organization, plan limits and features, the
//! last-owner invariant and the audit log. Every operation starts from the caller's
//! [`Standing`] (role and plan, read fresh from the database: never cached, so a removed member
//! loses access at once), checks the role ladder, and makes its change in one transaction that
//! also writes the audit event.
//!
//! Refusal order is the same everywhere: malformed input (422, checked by the transport) →
//! not a member (403 `NOT_A_MEMBER`, also for organizations that do not exist) → role (403
//! `INSUFFICIENT_ROLE`) → plan feature → the target (404) → invariants and limits (409/403).

mod internal;
mod invitations;
mod members;
mod organizations;
mod subscriptions;

use diesel_async::AsyncPgConnection;
use operant_platform::db::{self, PgConn, PgPool};
use uuid::Uuid;

pub use invitations::{InvitationStatus, InvitationView, Joined};
pub use members::{MemberSort, MemberView};
pub use subscriptions::{AuditSort, SubscriptionView};

use crate::error::TenancyError;
use crate::peers::Peers;
use crate::plans::{Plan, Role};
use crate::repo::audit_events::{self, NewAuditEvent};
use crate::repo::memberships;

/// The tenancy domain: the database, the peers it needs and its mail outbox.
#[derive(Clone)]
pub struct Tenancy {
    pool: PgPool,
    peers: Peers,
    invitations: InvitationMail,
}

/// How invitations are mailed: the outbox worker of this replica (write the mail with its
/// outbox in the invitation's transaction, hint the worker after the commit), the base of the
/// links (`OPERANT_PUBLIC_URL`) and the token lifetime (`OPERANT_INVITATION_TTL_SECS`).
#[derive(Clone)]
pub struct InvitationMail {
    pub worker: operant_mail::Worker,
    pub public_url: String,
    pub ttl: std::time::Duration,
}

/// A user's standing in one organization.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Standing {
    pub role: Role,
    pub plan: Plan,
}

impl Standing {
    /// 403 `INSUFFICIENT_ROLE` unless the role is at least `needed`; `action` says what was
    /// refused.
    pub fn require(&self, needed: Role, action: &'static str) -> Result<(), TenancyError> {
        if self.role >= needed { Ok(()) } else { Err(TenancyError::InsufficientRole(action)) }
    }

    /// 403 `FEATURE_NOT_IN_PLAN` unless the plan has `feature`.
    pub fn require_feature(&self, feature: &'static str) -> Result<(), TenancyError> {
        if self.plan.has_feature(feature) { Ok(()) } else { Err(TenancyError::FeatureNotInPlan(feature)) }
    }
}

impl Tenancy {
    pub fn new(pool: PgPool, peers: Peers, invitations: InvitationMail) -> Self {
        Tenancy { pool, peers, invitations }
    }

    async fn conn(&self) -> Result<PgConn, TenancyError> {
        Ok(db::conn(&self.pool).await?)
    }

    /// The caller's standing, on its own connection (for checks made before calling a peer, so
    /// no pooled connection is held during the network call).
    async fn standing_now(&self, organization_id: Uuid, user_id: Uuid) -> Result<Standing, TenancyError> {
        let mut conn = self.conn().await?;
        standing(&mut conn, organization_id, user_id).await
    }
}

/// The user's standing in the organization: 403 `NOT_A_MEMBER` when not a member or when the
/// organization does not exist.
async fn standing(
    conn: &mut AsyncPgConnection,
    organization_id: Uuid,
    user_id: Uuid,
) -> Result<Standing, TenancyError> {
    memberships::access(conn, organization_id, user_id)
        .await?
        .map(|(role, plan)| Standing { role, plan })
        .ok_or(TenancyError::NotAMember)
}

/// Locks the organization row for the rest of the transaction (see
/// [`crate::repo::organizations::lock_for_member`]) and reads the caller's standing afresh under
/// the lock.
async fn lock_and_stand(
    conn: &mut AsyncPgConnection,
    organization_id: Uuid,
    user_id: Uuid,
) -> Result<Standing, TenancyError> {
    if !crate::repo::organizations::lock_for_member(conn, organization_id, user_id).await? {
        return Err(TenancyError::NotAMember);
    }
    standing(conn, organization_id, user_id).await
}

/// Records an audit event in the current transaction.
async fn audit(
    conn: &mut AsyncPgConnection,
    organization_id: Uuid,
    actor_id: Uuid,
    action: &'static str,
    target: (&'static str, String),
    details: serde_json::Value,
) -> Result<(), TenancyError> {
    let event = NewAuditEvent { actor_id, action, target_type: target.0, target_id: target.1, details };
    Ok(audit_events::insert(conn, organization_id, event).await?)
}
