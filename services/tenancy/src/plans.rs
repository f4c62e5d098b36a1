//! The plan table, the role ladder and the stored invitation states: every number and feature name that decides what an
//! organization may do lives here, as constants, so a plan change is a one-file change and the
//! limits the domain enforces are exactly the ones `Authorize` reports to the other services.
//!
//! Both enums are stored as text in PostgreSQL (check constraints in the tenancy migration) and
//! converted here, in one place, to and from the database and the proto enums.

use std::io::Write as _;

use diesel::deserialize::{self, FromSql, FromSqlRow};
use diesel::expression::AsExpression;
use diesel::pg::{Pg, PgValue};
use diesel::serialize::{self, IsNull, Output, ToSql};
use diesel::sql_types::Text;
use operant_proto::tenancy::v1 as pb;

/// The `audit_log` feature: `ListAuditEvents`.
pub const AUDIT_LOG: &str = "audit_log";

/// The `webhooks` feature: webhook endpoints (the events service's `WebhookService`).
pub const WEBHOOKS: &str = "webhooks";

/// Every feature a plan can enable, in the order `ListFeatures` reports them.
pub const ALL_FEATURES: &[&str] = &[AUDIT_LOG, WEBHOOKS];

/// What a plan allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlanSpec {
    /// Maximum members of the organization.
    pub max_users: i64,
    /// Maximum projects of the organization (enforced by the work service).
    pub max_projects: i64,
    /// Maximum API keys that are neither revoked nor expired.
    pub max_api_keys: i64,
    /// Features the plan enables.
    pub features: &'static [&'static str],
}

/// FREE: 3 users, 5 projects, 2 API keys, no extra features.
pub const FREE: PlanSpec = PlanSpec { max_users: 3, max_projects: 5, max_api_keys: 2, features: &[] };
/// PRO: 50 users, 100 projects, 100 API keys, the audit log, webhooks.
pub const PRO: PlanSpec =
    PlanSpec { max_users: 50, max_projects: 100, max_api_keys: 100, features: &[AUDIT_LOG, WEBHOOKS] };

/// A subscription plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, AsExpression, FromSqlRow)]
#[diesel(sql_type = Text)]
pub enum Plan {
    Free,
    Pro,
}

impl Plan {
    pub fn spec(self) -> PlanSpec {
        match self {
            Plan::Free => FREE,
            Plan::Pro => PRO,
        }
    }

    pub fn has_feature(self, feature: &str) -> bool {
        self.spec().features.contains(&feature)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Plan::Free => "FREE",
            Plan::Pro => "PRO",
        }
    }

    fn from_db(s: &str) -> Option<Self> {
        match s {
            "FREE" => Some(Plan::Free),
            "PRO" => Some(Plan::Pro),
            _ => None,
        }
    }

    /// The plan named by a proto enum value; `None` for unspecified or unknown values.
    pub fn from_proto(value: i32) -> Option<Self> {
        match pb::Plan::try_from(value).ok()? {
            pb::Plan::Free => Some(Plan::Free),
            pb::Plan::Pro => Some(Plan::Pro),
            pb::Plan::Unspecified => None,
        }
    }

    pub fn to_proto(self) -> pb::Plan {
        match self {
            Plan::Free => pb::Plan::Free,
            Plan::Pro => pb::Plan::Pro,
        }
    }
}

/// A member's role; the derived order is the ladder (`Member < Admin < Owner`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, AsExpression, FromSqlRow)]
#[diesel(sql_type = Text)]
pub enum Role {
    Member,
    Admin,
    Owner,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "OWNER",
            Role::Admin => "ADMIN",
            Role::Member => "MEMBER",
        }
    }

    fn from_db(s: &str) -> Option<Self> {
        match s {
            "OWNER" => Some(Role::Owner),
            "ADMIN" => Some(Role::Admin),
            "MEMBER" => Some(Role::Member),
            _ => None,
        }
    }

    /// The role named by a proto enum value; `None` for unspecified or unknown values.
    pub fn from_proto(value: i32) -> Option<Self> {
        match pb::Role::try_from(value).ok()? {
            pb::Role::Owner => Some(Role::Owner),
            pb::Role::Admin => Some(Role::Admin),
            pb::Role::Member => Some(Role::Member),
            pb::Role::Unspecified => None,
        }
    }

    pub fn to_proto(self) -> pb::Role {
        match self {
            Role::Owner => pb::Role::Owner,
            Role::Admin => pb::Role::Admin,
            Role::Member => pb::Role::Member,
        }
    }
}

/// The stored state of an invitation. Expiry is not a state: a `Pending` invitation whose
/// `expires_at` has passed is reported as expired ([`crate::domain::InvitationStatus`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, AsExpression, FromSqlRow)]
#[diesel(sql_type = Text)]
pub enum InvitationState {
    Pending,
    Accepted,
    Declined,
    Revoked,
}

impl InvitationState {
    pub fn as_str(self) -> &'static str {
        match self {
            InvitationState::Pending => "PENDING",
            InvitationState::Accepted => "ACCEPTED",
            InvitationState::Declined => "DECLINED",
            InvitationState::Revoked => "REVOKED",
        }
    }

    fn from_db(s: &str) -> Option<Self> {
        [
            InvitationState::Pending,
            InvitationState::Accepted,
            InvitationState::Declined,
            InvitationState::Revoked,
        ]
        .into_iter()
        .find(|state| state.as_str() == s)
    }
}

macro_rules! text_enum_sql {
    ($ty:ty, $what:literal) => {
        impl ToSql<Text, Pg> for $ty {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
                out.write_all(self.as_str().as_bytes())?;
                Ok(IsNull::No)
            }
        }

        impl FromSql<Text, Pg> for $ty {
            fn from_sql(bytes: PgValue<'_>) -> deserialize::Result<Self> {
                let text = std::str::from_utf8(bytes.as_bytes())?;
                <$ty>::from_db(text).ok_or_else(|| format!(concat!("unknown ", $what, " {:?}"), text).into())
            }
        }
    };
}

text_enum_sql!(Plan, "plan");
text_enum_sql!(Role, "role");
text_enum_sql!(InvitationState, "invitation state");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ladder_orders_roles() {
        assert!(Role::Owner > Role::Admin && Role::Admin > Role::Member);
    }

    #[test]
    fn only_pro_has_the_audit_log() {
        assert!(!Plan::Free.has_feature(AUDIT_LOG));
        assert!(Plan::Pro.has_feature(AUDIT_LOG));
        assert!(!Plan::Free.has_feature(WEBHOOKS) && Plan::Pro.has_feature(WEBHOOKS));
        assert_eq!((Plan::Free.spec().max_users, Plan::Free.spec().max_projects), (3, 5));
        assert_eq!((Plan::Pro.spec().max_users, Plan::Pro.spec().max_projects), (50, 100));
        assert_eq!((Plan::Free.spec().max_api_keys, Plan::Pro.spec().max_api_keys), (2, 100));
    }

    #[test]
    fn proto_values_round_trip() {
        for role in [Role::Owner, Role::Admin, Role::Member] {
            assert_eq!(Role::from_proto(role.to_proto() as i32), Some(role));
        }
        for plan in [Plan::Free, Plan::Pro] {
            assert_eq!(Plan::from_proto(plan.to_proto() as i32), Some(plan));
        }
        assert_eq!(Role::from_proto(0), None);
        assert_eq!(Plan::from_proto(99), None);
    }
}
