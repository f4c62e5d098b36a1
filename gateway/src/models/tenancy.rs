//! Bodies of the organization, member, user-list and subscription routes.

use chrono::{DateTime, Utc};
use operant_proto::tenancy::v1 as pb;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{ActorType, proto_enum, timestamp, timestamp_or_epoch};

proto_enum! {
    /// A member's role in an organization.
    Role => pb::Role { Owner = Owner, Admin = Admin, Member = Member }
}

proto_enum! {
    /// A subscription plan.
    Plan => pb::Plan { Free = Free, Pro = Pro }
}

/// `POST /organizations`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateOrganizationBody {
    #[schema(example = "Acme Inc.")]
    pub name: String,
    /// Lowercase letters, digits and hyphens; unique.
    #[schema(example = "acme")]
    pub slug: String,
}

/// `PUT`/`PATCH /organizations/{id}`: fields left out stay unchanged.
#[derive(Debug, Deserialize, ToSchema)]
pub struct UpdateOrganizationBody {
    pub name: Option<String>,
    pub slug: Option<String>,
}

/// An organization, with the caller's role in it.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrganizationResponse {
    pub id: String,
    pub name: String,
    pub slug: String,
    pub plan: Option<Plan>,
    /// The caller's role.
    pub role: Option<Role>,
    #[serde(serialize_with = "super::rfc3339::write")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "super::rfc3339::write")]
    pub updated_at: DateTime<Utc>,
}

impl From<pb::Organization> for OrganizationResponse {
    fn from(o: pb::Organization) -> Self {
        Self {
            id: o.id,
            name: o.name,
            slug: o.slug,
            plan: Plan::from_proto(o.plan),
            role: Role::from_proto(o.role),
            created_at: timestamp_or_epoch(o.created_at),
            updated_at: timestamp_or_epoch(o.updated_at),
        }
    }
}

/// `PATCH /organizations/{id}/members/{user_id}`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct UpdateMemberBody {
    pub role: Role,
}

/// `POST /organizations/{id}/transfer-ownership`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct TransferOwnershipBody {
    /// UUID of the member who becomes OWNER: another member than the caller (the owner
    /// transferring to themselves is 422 naming `user_id`; a non-member is 404).
    pub user_id: uuid::Uuid,
}

/// A member of an organization.
#[derive(Debug, Serialize, ToSchema)]
pub struct MemberResponse {
    pub user_id: String,
    pub email: String,
    pub full_name: Option<String>,
    pub role: Option<Role>,
    #[serde(serialize_with = "super::rfc3339::write")]
    pub joined_at: DateTime<Utc>,
}

impl From<pb::Member> for MemberResponse {
    fn from(m: pb::Member) -> Self {
        Self {
            user_id: m.user_id,
            email: m.email,
            full_name: m.full_name,
            role: Role::from_proto(m.role),
            joined_at: timestamp_or_epoch(m.joined_at),
        }
    }
}

/// `PUT /organizations/{id}/subscription`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct UpdateSubscriptionBody {
    pub plan: Plan,
}

/// Limits of a plan.
#[derive(Debug, Serialize, ToSchema)]
pub struct LimitsResponse {
    pub max_users: i64,
    pub max_projects: i64,
    pub max_api_keys: i64,
}

/// Usage counted against the limits.
#[derive(Debug, Serialize, ToSchema)]
pub struct UsageResponse {
    pub users: i64,
    pub projects: i64,
    /// API keys neither revoked nor expired.
    pub api_keys: i64,
}

/// Plan, limits, usage and features of an organization.
#[derive(Debug, Serialize, ToSchema)]
pub struct SubscriptionResponse {
    pub plan: Option<Plan>,
    pub limits: LimitsResponse,
    pub usage: UsageResponse,
    pub features: Vec<String>,
}

impl From<pb::Subscription> for SubscriptionResponse {
    fn from(s: pb::Subscription) -> Self {
        let limits = s.limits.unwrap_or_default();
        let usage = s.usage.unwrap_or_default();
        Self {
            plan: Plan::from_proto(s.plan),
            limits: LimitsResponse {
                max_users: limits.max_users,
                max_projects: limits.max_projects,
                max_api_keys: limits.max_api_keys,
            },
            usage: UsageResponse { users: usage.users, projects: usage.projects, api_keys: usage.api_keys },
            features: s.features,
        }
    }
}

/// A feature flag.
#[derive(Debug, Serialize, ToSchema)]
pub struct FeatureResponse {
    #[schema(example = "audit_log")]
    pub name: String,
    pub enabled: bool,
}

impl From<pb::Feature> for FeatureResponse {
    fn from(f: pb::Feature) -> Self {
        Self { name: f.name, enabled: f.enabled }
    }
}

/// An audit log entry.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEventResponse {
    pub id: String,
    /// The user, or the API key (`actor_type`), that acted.
    pub actor_id: String,
    pub actor_type: Option<ActorType>,
    #[schema(example = "member.added")]
    pub action: String,
    pub target_type: String,
    pub target_id: String,
    /// Details as a JSON object.
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
    #[serde(serialize_with = "super::rfc3339::write")]
    pub created_at: DateTime<Utc>,
}

impl From<pb::AuditEvent> for AuditEventResponse {
    fn from(e: pb::AuditEvent) -> Self {
        let details = if e.details_json.is_empty() {
            serde_json::Value::Object(Default::default())
        } else {
            serde_json::from_str(&e.details_json).unwrap_or(serde_json::Value::String(e.details_json))
        };
        Self {
            id: e.id,
            actor_id: e.actor_id,
            actor_type: ActorType::from_proto(e.actor_type),
            action: e.action,
            target_type: e.target_type,
            target_id: e.target_id,
            details,
            created_at: timestamp_or_epoch(e.created_at),
        }
    }
}

proto_enum! {
    /// Where an invitation stands (`EXPIRED`: pending past `expires_at`).
    InvitationStatus => pb::InvitationStatus {
        Pending = Pending, Accepted = Accepted, Declined = Declined, Revoked = Revoked, Expired = Expired
    }
}

/// `POST /organizations/{id}/invitations` (and the deprecated `POST .../members`).
#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateInvitationBody {
    /// The address to invite (it need not have an account).
    #[schema(example = "bob@example.com")]
    pub email: String,
    /// `ADMIN` or `MEMBER` (ownership is transferred, never invited).
    pub role: Role,
}

/// `POST /invitations/accept`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct AcceptInvitationBody {
    /// The `token` of the mailed link `/accept-invitation?token=…`.
    pub token: String,
}

/// An invitation. The same shape whether or not the address has an account.
#[derive(Debug, Serialize, ToSchema)]
pub struct InvitationResponse {
    pub id: String,
    pub organization_id: String,
    pub organization_name: String,
    pub email: String,
    pub role: Option<Role>,
    pub status: Option<InvitationStatus>,
    /// UUID of the user who invited.
    pub invited_by: String,
    #[serde(serialize_with = "super::rfc3339::write")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "super::rfc3339::write")]
    pub expires_at: DateTime<Utc>,
}

impl From<pb::Invitation> for InvitationResponse {
    fn from(i: pb::Invitation) -> Self {
        Self {
            id: i.id,
            organization_id: i.organization_id,
            organization_name: i.organization_name,
            email: i.email,
            role: Role::from_proto(i.role),
            status: InvitationStatus::from_proto(i.status),
            invited_by: i.invited_by,
            created_at: timestamp_or_epoch(i.created_at),
            expires_at: timestamp_or_epoch(i.expires_at),
        }
    }
}

/// `POST /organizations/{id}/api-keys`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateApiKeyBody {
    #[schema(example = "CI deploy")]
    pub name: String,
    /// `ADMIN` or `MEMBER` (never `OWNER`, never above your own role).
    pub role: Role,
    /// When the key stops working: must be in the future when the key is created (otherwise
    /// 422 naming `expires_at`); never when left out.
    pub expires_at: Option<DateTime<Utc>>,
}

/// An organization API key, without its secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKeyResponse {
    pub id: String,
    pub name: String,
    pub role: Option<Role>,
    /// The first characters of the key (`opk_` and 8 more), to recognise it.
    #[schema(example = "opk_3q2-7wEr")]
    pub prefix: String,
    /// The user (or API key, see `created_by_type`) that created it.
    pub created_by: String,
    pub created_by_type: Option<ActorType>,
    #[serde(serialize_with = "super::rfc3339::write")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "super::rfc3339::write_opt")]
    pub expires_at: Option<DateTime<Utc>>,
    /// Last use, coarse (written at most once a minute).
    #[serde(serialize_with = "super::rfc3339::write_opt")]
    pub last_used_at: Option<DateTime<Utc>>,
}

impl From<pb::ApiKey> for ApiKeyResponse {
    fn from(k: pb::ApiKey) -> Self {
        Self {
            id: k.id,
            name: k.name,
            role: Role::from_proto(k.role),
            prefix: k.prefix,
            created_by: k.created_by,
            created_by_type: ActorType::from_proto(k.created_by_type),
            created_at: timestamp_or_epoch(k.created_at),
            expires_at: timestamp(k.expires_at),
            last_used_at: timestamp(k.last_used_at),
        }
    }
}

/// An accepted invitation and the caller's new membership.
#[derive(Debug, Serialize, ToSchema)]
pub struct AcceptedInvitationResponse {
    pub invitation: InvitationResponse,
    pub member: MemberResponse,
}

/// A new API key with its secret, which is shown this once (no `Debug`: it holds the secret).
#[derive(Serialize, ToSchema)]
pub struct CreatedApiKeyResponse {
    #[serde(flatten)]
    pub api_key: ApiKeyResponse,
    /// The secret (`opk_` + 43 base64url characters): use it as `Authorization: Bearer <key>`.
    /// Store it now; it is never shown again.
    pub key: String,
}
