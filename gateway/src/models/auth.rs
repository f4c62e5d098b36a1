//! Bodies of the auth and user routes.

use chrono::{DateTime, Utc};
use operant_proto::auth::v1 as pb;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::{timestamp, timestamp_or_epoch};

/// `POST /auth/register`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct RegisterBody {
    /// Email address; trimmed and case-insensitively unique.
    #[schema(example = "user@example.com")]
    pub email: String,
    /// 8 to 72 characters.
    #[schema(example = "SecurePassword123!")]
    pub password: String,
    /// Display name.
    pub full_name: Option<String>,
}

/// `POST /auth/login`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct LoginBody {
    pub email: String,
    pub password: String,
}

/// `POST /auth/refresh` and `POST /auth/logout`: the refresh token, when not sent in
/// `Authorization`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct RefreshTokenBody {
    pub refresh_token: Option<String>,
}

/// `POST /auth/verify-email/confirm`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct TokenBody {
    /// The token from the emailed link.
    pub token: String,
}

/// `POST /auth/password-reset/request`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct PasswordResetRequestBody {
    pub email: String,
}

/// `POST /auth/password-reset/confirm`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct PasswordResetConfirmBody {
    /// The token from the emailed link.
    pub token: String,
    pub new_password: String,
}

/// `PUT`/`PATCH /users/me`: fields left out stay unchanged.
#[derive(Debug, Deserialize, ToSchema)]
pub struct UpdateMeBody {
    pub full_name: Option<String>,
}

/// `POST /users/me/password`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ChangePasswordBody {
    pub current_password: String,
    pub new_password: String,
}

/// A user account.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserResponse {
    pub id: String,
    pub email: String,
    pub full_name: Option<String>,
    pub email_verified: bool,
    pub is_active: bool,
    #[serde(serialize_with = "super::rfc3339::write")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "super::rfc3339::write")]
    pub updated_at: DateTime<Utc>,
}

impl From<pb::User> for UserResponse {
    fn from(u: pb::User) -> Self {
        Self {
            id: u.id,
            email: u.email,
            full_name: u.full_name,
            email_verified: u.email_verified,
            is_active: u.is_active,
            created_at: timestamp_or_epoch(u.created_at),
            updated_at: timestamp_or_epoch(u.updated_at),
        }
    }
}

/// An access/refresh token pair.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenResponse {
    /// Ed25519-signed JWT for `Authorization: Bearer`.
    pub access_token: String,
    /// Opaque single-use refresh token.
    pub refresh_token: String,
    /// Always `bearer`.
    #[schema(example = "bearer")]
    pub token_type: String,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    /// Seconds until the refresh token expires.
    pub refresh_expires_in: i64,
}

impl From<pb::TokenPair> for TokenResponse {
    fn from(t: pb::TokenPair) -> Self {
        Self {
            access_token: t.access_token,
            refresh_token: t.refresh_token,
            token_type: if t.token_type.is_empty() { "bearer".into() } else { t.token_type },
            expires_in: t.expires_in,
            refresh_expires_in: t.refresh_expires_in,
        }
    }
}

/// A login session.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionResponse {
    pub id: Uuid,
    #[serde(serialize_with = "super::rfc3339::write")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "super::rfc3339::write_opt")]
    pub last_used_at: Option<DateTime<Utc>>,
    pub user_agent: String,
    pub ip_address: String,
    /// True for the session of the calling access token.
    pub current: bool,
}

impl From<pb::Session> for SessionResponse {
    fn from(s: pb::Session) -> Self {
        Self {
            id: s.id.parse().unwrap_or_default(),
            created_at: timestamp_or_epoch(s.created_at),
            last_used_at: timestamp(s.last_used_at),
            user_agent: s.user_agent,
            ip_address: s.ip_address,
            current: s.current,
        }
    }
}

/// One public signing key (RFC 8037 OKP).
#[derive(Debug, Serialize, ToSchema)]
pub struct JwkResponse {
    pub kty: String,
    pub crv: String,
    pub x: String,
    pub kid: String,
    pub alg: String,
    #[serde(rename = "use")]
    pub use_: String,
}

/// The JSON Web Key Set.
#[derive(Debug, Serialize, ToSchema)]
pub struct JwksResponse {
    pub keys: Vec<JwkResponse>,
}

impl From<pb::GetJwksResponse> for JwksResponse {
    fn from(r: pb::GetJwksResponse) -> Self {
        Self {
            keys: r
                .keys
                .into_iter()
                .map(|k| JwkResponse {
                    kty: k.kty,
                    crv: k.crv,
                    x: k.x,
                    kid: k.kid,
                    alg: k.alg,
                    use_: k.r#use,
                })
                .collect(),
        }
    }
}
