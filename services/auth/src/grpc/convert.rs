//! Domain values → proto messages.

use chrono::{DateTime, Utc};
use operant_proto::auth::v1 as pb;
use uuid::Uuid;

use crate::domain::sessions::TokenPair;
use crate::error::{AuthError, AuthResult};
use crate::repo::sessions::SessionRow;
use crate::repo::users::UserRow;

pub fn timestamp(t: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: t.timestamp(),
        nanos: i32::try_from(t.timestamp_subsec_nanos()).unwrap_or(0),
    }
}

pub fn user(u: UserRow) -> pb::User {
    pb::User {
        id: u.id.to_string(),
        email: u.email,
        full_name: u.full_name,
        email_verified: u.email_verified,
        is_active: u.is_active,
        created_at: Some(timestamp(u.created_at)),
        updated_at: Some(timestamp(u.updated_at)),
    }
}

pub fn tokens(t: TokenPair) -> pb::TokenPair {
    pb::TokenPair {
        access_token: t.access_token,
        refresh_token: t.refresh_token,
        token_type: "bearer".to_owned(),
        expires_in: t.expires_in,
        refresh_expires_in: t.refresh_expires_in,
    }
}

pub fn session(s: SessionRow, current: Uuid) -> pb::Session {
    pb::Session {
        current: s.id == current,
        id: s.id.to_string(),
        created_at: Some(timestamp(s.created_at)),
        last_used_at: Some(timestamp(s.last_used_at)),
        user_agent: s.user_agent,
        ip_address: s.ip_address,
    }
}

/// A UUID request field, or 422 naming it.
pub fn uuid(field: &str, raw: &str) -> AuthResult<Uuid> {
    if raw.trim().is_empty() {
        return Err(AuthError::invalid(field, "is required"));
    }
    Uuid::parse_str(raw.trim()).map_err(|_| AuthError::invalid(field, "must be a UUID"))
}
