//! JSON request and response bodies of the REST API, with their conversions from and to the
//! protobuf messages. Field names are snake_case, enums their short upper-case names (`"OWNER"`,
//! `"IN_PROGRESS"`), timestamps RFC 3339.

pub mod auth;
pub mod events;
pub mod rfc3339;
pub mod tenancy;
pub mod webhooks;
pub mod work;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;

use crate::extract::{DATE_EXPECTED, parse_date_time};

// The OpenAPI patterns of the text fields, stating the services' rules (`pattern` is a search
// unless anchored; `\u` escapes are understood by ECMA-262 and Python regular expressions).

/// The whitespace the services trim (Unicode `White_Space`, Rust's `str::trim`).
macro_rules! ws {
    () => {
        r"\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
    };
}
/// Control characters (`char::is_control`: C0, DEL and C1).
macro_rules! cc {
    () => {
        r"\x00-\x1f\x7f-\x9f"
    };
}
/// Not blank, no control characters (organization and API key names).
pub const NAME_PATTERN: &str = concat!("^[^", cc!(), "]*[^", ws!(), cc!(), "][^", cc!(), "]*$");
/// Not blank, no NUL (project names, task titles).
pub const TITLE_PATTERN: &str = concat!("^[^\\x00]*[^", ws!(), "\\x00][^\\x00]*$");
/// No NUL (descriptions).
pub const NO_NUL_PATTERN: &str = "^[^\\x00]*$";
/// No control characters (display names; blank means none).
pub const NO_CONTROL_PATTERN: &str = concat!("^[^", cc!(), "]*$");
/// Not blank (one-time tokens).
pub const NOT_BLANK_PATTERN: &str = concat!("[^", ws!(), "]");
/// An email address as the services accept it: 1 to 64 characters before the `@`, a domain of
/// dot-separated labels, no whitespace or control characters.
pub const EMAIL_PATTERN: &str =
    concat!("^[^@", ws!(), cc!(), "]{1,64}@[^@.", ws!(), cc!(), "]+(\\.[^@.", ws!(), cc!(), "]+)+$");
/// An organization slug.
pub const SLUG_PATTERN: &str = "^[a-z0-9]+(-[a-z0-9]+)*$";

/// A protobuf timestamp as a UTC date-time (`None` when unset or out of range).
pub fn timestamp(t: Option<prost_types::Timestamp>) -> Option<DateTime<Utc>> {
    let t = t?;
    DateTime::from_timestamp(t.seconds, u32::try_from(t.nanos).ok()?)
}

/// A required protobuf timestamp (the epoch if the service left it unset).
pub fn timestamp_or_epoch(t: Option<prost_types::Timestamp>) -> DateTime<Utc> {
    timestamp(t).unwrap_or_default()
}

/// A UTC date-time as a protobuf timestamp.
pub fn to_timestamp(t: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp { seconds: t.timestamp(), nanos: t.timestamp_subsec_nanos() as i32 }
}

/// A date input: an RFC 3339 date-time or a plain `YYYY-MM-DD` date (midnight UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ToSchema)]
#[schema(value_type = String, example = "2026-12-31")]
pub struct DateInput(pub DateTime<Utc>);

impl<'de> Deserialize<'de> for DateInput {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        parse_date_time(&raw).map(DateInput).ok_or_else(|| serde::de::Error::custom(DATE_EXPECTED))
    }
}

/// A body with only a message (202 answers).
#[derive(Debug, Serialize, ToSchema)]
pub struct MessageResponse {
    pub detail: String,
}

impl MessageResponse {
    pub fn new(detail: impl Into<String>) -> Self {
        Self { detail: detail.into() }
    }
}

/// Declares a JSON enum mirroring a protobuf enum: `Name { Variant = proto::Enum::Variant }`.
/// Unknown JSON values are rejected by serde (422 naming the field); `*_UNSPECIFIED` is `None`.
macro_rules! proto_enum {
    ($(#[$meta:meta])* $name:ident => $proto:ty { $($(#[$vmeta:meta])* $variant:ident = $pv:ident),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
        #[serde(rename_all = "SCREAMING_SNAKE_CASE")]
        pub enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl $name {
            /// The protobuf value.
            pub fn to_proto(self) -> i32 {
                match self {
                    $(Self::$variant => <$proto>::$pv as i32),+
                }
            }

            /// From a protobuf value; unspecified or unknown values are `None`.
            pub fn from_proto(value: i32) -> Option<Self> {
                match <$proto>::try_from(value).ok()? {
                    $(<$proto>::$pv => Some(Self::$variant),)+
                    #[allow(unreachable_patterns)]
                    _ => None,
                }
            }

            /// Parses the JSON/query spelling (`"IN_PROGRESS"`, case-insensitive).
            pub fn parse(raw: &str) -> Option<Self> {
                serde_json::from_value(serde_json::Value::String(raw.trim().to_ascii_uppercase())).ok()
            }

            /// Every JSON spelling, for error messages.
            pub fn names() -> String {
                [$(serde_json::to_value(Self::$variant).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()),+].join(", ")
            }
        }
    };
}
pub(crate) use proto_enum;

proto_enum! {
    /// Who acted: a user (`created_by` / `actor_id` is a user id) or an organization API key
    /// (the key's id).
    ActorType => operant_proto::common::v1::ActorType { User = User, ApiKey = ApiKey }
}
