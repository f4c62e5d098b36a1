//! The tenancy rules: who may do what in an organization, plan limits and features, the
//! last-owner invariant and the audit log. Every operation starts from the caller's
//! [`Standing`] (role and plan, read fresh from the database: never cached, so a removed member
//! or a revoked API key loses access at once), checks the role ladder, and makes its change in
//! one transaction that also writes the audit event and the change's event (to the outbox:
//! [`crate::events`]).
//!
//! The caller is an [`Actor`]: a user (standing from their membership) or an organization API
//! key (standing from the key's own role, only in the key's organization; the audit log names the
//! key with `actor_type` `API_KEY`). Person-only operations take a plain user id instead.
//!
//! Refusal order is the same everywhere: malformed input (422, checked by the transport) →
//! not a member (403 `NOT_A_MEMBER`, also for organizations that do not exist) → role (403
//! `INSUFFICIENT_ROLE`) → plan feature → the target (404) → invariants and limits (409/403).

pub mod api_keys;
mod internal;
mod invitations;
mod members;
mod organizations;
pub mod standings;
mod subscriptions;

use diesel_async::AsyncPgConnection;
use operant_platform::db::{self, PgConn, PgPool};
use operant_platform::outbox::Outbox;
use operant_platform::paging::PageTokens;
pub use operant_platform::principal::Actor;
use uuid::Uuid;

pub use api_keys::{CreatedApiKey, NewKey, RevocationHub};
pub use invitations::{InvitationStatus, InvitationView, Joined};
pub use members::{MemberSort, MemberView};
pub use subscriptions::{AuditSort, SubscriptionView};

use crate::error::TenancyError;
use crate::events;
use crate::peers::Peers;
use crate::plans::{Plan, Role};
use crate::repo::audit_events::{self, NewAuditEvent};
use crate::repo::{api_keys as keys_repo, memberships};

/// The tenancy domain: the database, the peers it needs, its mail outbox, its event outbox and
/// the API-key revocation fan-out.
#[derive(Clone)]
pub struct Tenancy {
    pool: PgPool,
    peers: Peers,
    invitations: InvitationMail,
    hub: RevocationHub,
    page_tokens: PageTokens,
    idempotency: operant_platform::idempotency::Store,
    events: Outbox,
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
    pub fn new(
        pool: PgPool,
        peers: Peers,
        invitations: InvitationMail,
        hub: RevocationHub,
        page_tokens: PageTokens,
        idempotency: operant_platform::idempotency::Store,
        events: Outbox,
    ) -> Self {
        Tenancy { pool, peers, invitations, hub, page_tokens, idempotency, events }
    }

    /// Writes an event of the organization by `actor` to the outbox, in the current transaction
    /// (see [`crate::events`]); hint the relay with [`Tenancy::hint_events`] after the commit.
    async fn event(
        &self,
        conn: &mut AsyncPgConnection,
        organization_id: Uuid,
        actor: &Actor,
        event_type: &str,
        data: serde_json::Value,
        changed_fields: &[&str],
    ) -> Result<(), TenancyError> {
        Ok(events::record(conn, &self.events, organization_id, actor, event_type, data, changed_fields)
            .await?)
    }

    /// Wakes this process's event relay (after a commit that recorded events; a spare wake-up
    /// only costs the relay one empty look).
    fn hint_events(&self) {
        self.events.hint();
    }

    /// The key of the lists' page tokens.
    pub fn page_tokens(&self) -> &PageTokens {
        &self.page_tokens
    }

    async fn conn(&self) -> Result<PgConn, TenancyError> {
        Ok(db::conn(&self.pool).await?)
    }

    /// The caller's standing, on its own connection (for checks made before calling a peer, so
    /// no pooled connection is held during the network call).
    async fn standing_now(&self, organization_id: Uuid, actor: &Actor) -> Result<Standing, TenancyError> {
        let mut conn = self.conn().await?;
        standing(&mut conn, organization_id, actor).await
    }
}

/// The id an actor is recorded by, and its `actor_type` (`USER` or `API_KEY`).
pub fn actor_ref(actor: &Actor) -> (Uuid, &'static str) {
    match actor {
        Actor::User(id) => (*id, "USER"),
        Actor::ApiKey(key) => (key.key_id, "API_KEY"),
    }
}

/// The actor's standing in the organization: 403 `NOT_A_MEMBER` when the user is not a member,
/// the key is not active in this organization, or the organization does not exist.
async fn standing(
    conn: &mut AsyncPgConnection,
    organization_id: Uuid,
    actor: &Actor,
) -> Result<Standing, TenancyError> {
    let access = match actor {
        Actor::User(user_id) => memberships::access(conn, organization_id, *user_id).await?,
        Actor::ApiKey(key) => keys_repo::access(conn, organization_id, key.key_id).await?,
    };
    access.map(|(role, plan)| Standing { role, plan }).ok_or(TenancyError::NotAMember)
}

/// Locks the organization row for the rest of the transaction (see
/// [`crate::repo::organizations::lock_for_member`]) and reads the caller's standing afresh under
/// the lock.
async fn lock_and_stand(
    conn: &mut AsyncPgConnection,
    organization_id: Uuid,
    actor: &Actor,
) -> Result<Standing, TenancyError> {
    let locked = match actor {
        Actor::User(user_id) => {
            crate::repo::organizations::lock_for_member(conn, organization_id, *user_id).await?
        }
        Actor::ApiKey(key) => {
            key.organization_id == organization_id
                && crate::repo::organizations::lock(conn, organization_id).await?.is_some()
        }
    };
    if !locked {
        return Err(TenancyError::NotAMember);
    }
    standing(conn, organization_id, actor).await
}

/// Records an audit event by `actor` in the current transaction.
async fn audit(
    conn: &mut AsyncPgConnection,
    organization_id: Uuid,
    actor: &Actor,
    action: &'static str,
    target: (&'static str, String),
    details: serde_json::Value,
) -> Result<(), TenancyError> {
    let (actor_id, actor_type) = actor_ref(actor);
    let event =
        NewAuditEvent { actor_id, actor_type, action, target_type: target.0, target_id: target.1, details };
    Ok(audit_events::insert(conn, organization_id, event).await?)
}
