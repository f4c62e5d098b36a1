//! Domain values → proto messages.

use chrono::{DateTime, Utc};
use operant_proto::common::v1::ActorType;
use operant_proto::tenancy::v1 as pb;
use prost_types::Timestamp;

use crate::domain::{InvitationStatus, InvitationView, MemberView, Standing, SubscriptionView};
use crate::plans::Plan;
use crate::repo::api_keys::ApiKeyRow;
use crate::repo::audit_events::AuditEventRow;
use crate::repo::organizations::MemberOrganization;

pub fn timestamp(at: DateTime<Utc>) -> Timestamp {
    Timestamp { seconds: at.timestamp(), nanos: i32::try_from(at.timestamp_subsec_nanos()).unwrap_or(0) }
}

pub fn organization(o: MemberOrganization) -> pb::Organization {
    pb::Organization {
        id: o.organization.id.to_string(),
        name: o.organization.name,
        slug: o.organization.slug,
        plan: o.plan.to_proto().into(),
        role: o.role.to_proto().into(),
        created_at: Some(timestamp(o.organization.created_at)),
        updated_at: Some(timestamp(o.organization.updated_at)),
    }
}

pub fn member(m: MemberView) -> pb::Member {
    pb::Member {
        user_id: m.user_id.to_string(),
        email: m.email,
        full_name: m.full_name,
        role: m.role.to_proto().into(),
        joined_at: Some(timestamp(m.joined_at)),
    }
}

pub fn limits(plan: Plan) -> pb::Limits {
    let spec = plan.spec();
    pb::Limits { max_users: spec.max_users, max_projects: spec.max_projects, max_api_keys: spec.max_api_keys }
}

pub fn features(plan: Plan) -> Vec<String> {
    plan.spec().features.iter().map(|f| (*f).to_owned()).collect()
}

pub fn subscription(s: SubscriptionView) -> pb::Subscription {
    pb::Subscription {
        plan: s.plan.to_proto().into(),
        limits: Some(limits(s.plan)),
        usage: Some(pb::Usage { users: s.users, projects: s.projects, api_keys: s.api_keys }),
        features: features(s.plan),
    }
}

pub fn authorization(s: Standing) -> pb::AuthorizeResponse {
    pb::AuthorizeResponse {
        role: s.role.to_proto().into(),
        plan: s.plan.to_proto().into(),
        limits: Some(limits(s.plan)),
        features: features(s.plan),
    }
}

pub fn audit_event(e: AuditEventRow) -> pb::AuditEvent {
    pb::AuditEvent {
        id: e.id.to_string(),
        actor_id: e.actor_id.to_string(),
        action: e.action,
        target_type: e.target_type,
        target_id: e.target_id,
        details_json: e.details.to_string(),
        created_at: Some(timestamp(e.created_at)),
        actor_type: actor_type(&e.actor_type).into(),
    }
}

/// The proto value of a stored `actor_type` (`USER`, `API_KEY`).
pub fn actor_type(stored: &str) -> ActorType {
    match stored {
        "USER" => ActorType::User,
        "API_KEY" => ActorType::ApiKey,
        _ => ActorType::Unspecified,
    }
}

pub fn api_key(k: ApiKeyRow) -> pb::ApiKey {
    pb::ApiKey {
        id: k.id.to_string(),
        organization_id: k.organization_id.to_string(),
        name: k.name,
        role: k.role.to_proto().into(),
        prefix: k.prefix,
        created_by: k.created_by.to_string(),
        created_by_type: actor_type(&k.created_by_type).into(),
        created_at: Some(timestamp(k.created_at)),
        expires_at: k.expires_at.map(timestamp),
        last_used_at: k.last_used_at.map(timestamp),
    }
}

pub fn invitation(i: InvitationView) -> pb::Invitation {
    let status = match i.status {
        InvitationStatus::Pending => pb::InvitationStatus::Pending,
        InvitationStatus::Accepted => pb::InvitationStatus::Accepted,
        InvitationStatus::Declined => pb::InvitationStatus::Declined,
        InvitationStatus::Revoked => pb::InvitationStatus::Revoked,
        InvitationStatus::Expired => pb::InvitationStatus::Expired,
    };
    pb::Invitation {
        id: i.id.to_string(),
        organization_id: i.organization_id.to_string(),
        email: i.email,
        role: i.role.to_proto().into(),
        status: status.into(),
        invited_by: i.invited_by.to_string(),
        created_at: Some(timestamp(i.created_at)),
        expires_at: Some(timestamp(i.expires_at)),
        organization_name: i.organization_name,
    }
}
