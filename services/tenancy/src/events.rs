//! The tenancy service's events and their data, written by the domain to its transactional
//! outbox `tenancy_event_outbox` in the transaction of each change ([`record`]) and relayed to
//! the events service by the relay of [`operant_platform::outbox`] (shared with work).
//!
//! | type | when | `data` | `changed_fields` |
//! |---|---|---|---|
//! | `organization.created` | an organization is created | the organization | |
//! | `organization.updated` | its name or slug changes | the organization | `name`, `slug` |
//! | `organization.deleted` | it is deleted | `{"id"}` | |
//! | `member.added` | its creator becomes OWNER; an invitation is accepted | the member | |
//! | `member.role_changed` | a role changes (an ownership transfer: one per member) | the member | `role` |
//! | `member.removed` | a member is removed or leaves | `{"user_id"}` | |
//! | `invitation.created` / `.revoked` / `.accepted` / `.declined` | | the invitation | `status` (not for `created`) |
//! | `invitation.resent` | every resend (a new expiry; an expired one is pending again) | the invitation | `expires_at` (and `status` when it had expired) |
//! | `api_key.created` / `api_key.revoked` | | the key | `revoked_at` (for `revoked`) |
//! | `subscription.changed` | the plan changes | the subscription | `plan` |
//!
//! `data` never holds a secret: no API key secret or digest (the `prefix` is the displayed part,
//! as listed), no invitation token, hash or link. A member is tenancy's own record (its user id,
//! role and join time): the profile (email, name) is auth's and is looked up by id.

use chrono::{DateTime, SecondsFormat, Utc};
use diesel_async::AsyncPgConnection;
use operant_platform::outbox::{EventActor, Outbox, OutboxEvent};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::domain::{Actor, InvitationStatus, actor_ref};
use crate::plans::{InvitationState, Plan};
use crate::repo::api_keys::ApiKeyRow;
use crate::repo::invitations::InvitationRow;
use crate::repo::memberships::MembershipRow;
use crate::repo::organizations::OrganizationRow;

/// The tenancy service's outbox table.
pub const TABLE: &str = "tenancy_event_outbox";

/// The outbox of the tenancy service (statements and the relay's wake-up).
pub fn outbox() -> Outbox {
    Outbox::new(TABLE)
}

/// `actor`, acting in `organization_id`.
struct By<'a> {
    organization_id: Uuid,
    actor: &'a Actor,
}

impl EventActor for By<'_> {
    fn organization_id(&self) -> Uuid {
        self.organization_id
    }
    fn actor_type(&self) -> &str {
        actor_ref(self.actor).1
    }
    fn actor_id(&self) -> Option<Uuid> {
        Some(actor_ref(self.actor).0)
    }
}

/// Writes the event `event_type` of the organization by `actor` to the outbox, in the caller's
/// transaction (hint the relay after the commit).
pub async fn record(
    conn: &mut AsyncPgConnection,
    outbox: &Outbox,
    organization_id: Uuid,
    actor: &Actor,
    event_type: &str,
    data: Value,
    changed_fields: &[&str],
) -> diesel::QueryResult<()> {
    let by = By { organization_id, actor };
    let changed = changed_fields.iter().map(|f| (*f).to_owned()).collect();
    outbox.record(conn, &OutboxEvent::new(&by, event_type.to_owned(), data, changed)).await
}

fn time(t: DateTime<Utc>) -> Value {
    Value::String(t.to_rfc3339_opts(SecondsFormat::Micros, true))
}

/// An organization as an event carries it: its REST representation without the caller's role.
pub fn organization(row: &OrganizationRow, plan: Plan) -> Value {
    json!({
        "id": row.id, "name": row.name, "slug": row.slug, "plan": plan.as_str(),
        "created_at": time(row.created_at), "updated_at": time(row.updated_at),
    })
}

/// A member as an event carries it.
pub fn member(row: &MembershipRow) -> Value {
    json!({
        "organization_id": row.organization_id, "user_id": row.user_id, "role": row.role.as_str(),
        "joined_at": time(row.created_at),
    })
}

/// An invitation as an event carries it: its REST representation (the status as reported, so
/// an expired pending one is `EXPIRED`), never its token.
pub fn invitation(row: &InvitationRow) -> Value {
    let status = match InvitationStatus::of(row, Utc::now()) {
        InvitationStatus::Expired => "EXPIRED",
        _ => row.status.as_str(),
    };
    json!({
        "id": row.id, "organization_id": row.organization_id, "email": row.email,
        "role": row.role.as_str(), "status": status, "invited_by": row.invited_by,
        "created_at": time(row.created_at), "expires_at": time(row.expires_at),
    })
}

/// Whether the invitation is reported expired (a resend then also changes its status).
pub fn is_expired(row: &InvitationRow) -> bool {
    row.status == InvitationState::Pending
        && InvitationStatus::of(row, Utc::now()) == InvitationStatus::Expired
}

/// An API key as an event carries it: its REST representation with `revoked_at`, without the
/// last use (using a key is not a change); never its secret or digest.
pub fn api_key(row: &ApiKeyRow) -> Value {
    json!({
        "id": row.id, "organization_id": row.organization_id, "name": row.name,
        "role": row.role.as_str(), "prefix": row.prefix, "created_by": row.created_by,
        "created_by_type": row.created_by_type, "created_at": time(row.created_at),
        "expires_at": row.expires_at.map(time), "revoked_at": row.revoked_at.map(time),
    })
}

/// A subscription as an event carries it: its REST representation (plan, limits, usage at the
/// change, features) with the organization's id.
pub fn subscription(organization_id: Uuid, plan: Plan, users: i64, projects: i64, api_keys: i64) -> Value {
    let spec = plan.spec();
    json!({
        "organization_id": organization_id, "plan": plan.as_str(),
        "limits": {"max_users": spec.max_users, "max_projects": spec.max_projects, "max_api_keys": spec.max_api_keys},
        "usage": {"users": users, "projects": projects, "api_keys": api_keys},
        "features": spec.features,
    })
}
