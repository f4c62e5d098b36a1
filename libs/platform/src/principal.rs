//! Who is calling: the [`Authenticator`] that decides from the method path what a call requires
//! ([`Access`]) and verifies its credentials, once per request, for the
//! [`CallContextLayer`](crate::call_context::CallContextLayer) in front of every gRPC service:
//! - end users present `authorization: Bearer <access token>`;
//! - machines present `authorization: Bearer opk_…`, an organization API key
//!   ([`crate::apikeys`]), which acts in its organization with its role;
//! - services present `x-operant-service-token`, compared in constant time.
//!
//! [`Caller::require_user`] is what person-only methods ask for (a key is 403
//! `API_KEY_NOT_ALLOWED` there); [`Caller::actor`] is what organization-scoped methods ask for.
//!
//! Internal RPCs (services named `*InternalService`) refuse callers without the service token,
//! whatever else they present. The result is a [`Caller`] in the request extensions, read by
//! handlers with [`caller`]; [`organization_id`] reads the tenant header.

use std::net::IpAddr;
use std::sync::Arc;

use http::HeaderMap;
use subtle::ConstantTimeEq;
use uuid::Uuid;

use crate::apikeys::{ApiKeyVerifier, KeyPrincipal, is_api_key};
use crate::error::{ApiError, ErrorCode};
use crate::headers::{
    FORWARDED_FOR_HEADER, FORWARDED_USER_AGENT_HEADER, ORGANIZATION_HEADER, SERVICE_TOKEN_HEADER,
};
use crate::tokens::{TokenVerifier, UserPrincipal};

/// What a method requires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone; credentials are ignored (health, reflection, login, register, ...).
    Public,
    /// A valid access token or API key.
    User,
    /// The service credential.
    Service,
}

/// Decides the access of a method path (`/package.Service/Method`).
pub type AccessPolicy = fn(&str) -> Access;

/// The default part of every policy: health and reflection are public, `*InternalService`
/// methods need the service credential, everything else an end user.
pub fn default_access(path: &str) -> Access {
    if path.starts_with("/grpc.health.") || path.starts_with("/grpc.reflection.") {
        Access::Public
    } else if path.split('/').nth(1).is_some_and(|service| service.ends_with("InternalService")) {
        Access::Service
    } else {
        Access::User
    }
}

/// Where the end user's request came from.
#[derive(Debug, Clone, Default)]
pub struct ClientInfo {
    pub ip: Option<IpAddr>,
    pub user_agent: String,
}

/// The established caller of one request.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The verified end user, if a valid access token was presented.
    pub user: Option<UserPrincipal>,
    /// The verified API key, if one was presented.
    pub key: Option<KeyPrincipal>,
    /// Whether the service credential was presented.
    pub service: bool,
    pub client: ClientInfo,
    pub request_id: String,
}

/// Who acts in an organization-scoped call: a person or an organization API key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    User(Uuid),
    ApiKey(KeyPrincipal),
}

impl Caller {
    /// The end user, for person-only methods: 403 `API_KEY_NOT_ALLOWED` for an API key, 401
    /// `TOKEN_MISSING` without credentials.
    pub fn require_user(&self) -> Result<&UserPrincipal, ApiError> {
        if self.key.is_some() {
            return Err(api_key_not_allowed());
        }
        self.user
            .as_ref()
            .ok_or_else(|| ApiError::new(ErrorCode::TokenMissing, "an access token is required"))
    }

    /// The user or API key acting, or 401 `TOKEN_MISSING`.
    pub fn actor(&self) -> Result<Actor, ApiError> {
        if let Some(key) = &self.key {
            return Ok(Actor::ApiKey(key.clone()));
        }
        Ok(Actor::User(self.require_user()?.user_id))
    }
}

/// 403 `API_KEY_NOT_ALLOWED`: the method is for people (their profile, password, sessions,
/// organizations and invitations).
pub fn api_key_not_allowed() -> ApiError {
    ApiError::new(ErrorCode::ApiKeyNotAllowed, "this operation is for people; an API key cannot use it")
}

/// The [`Caller`] of a request. Every request passes through
/// [`CallContextLayer`](crate::call_context::CallContextLayer), so a missing
/// one is a wiring bug, answered as 401 rather than a panic.
pub fn caller<T>(request: &tonic::Request<T>) -> Result<&Caller, ApiError> {
    request
        .extensions()
        .get::<Caller>()
        .ok_or_else(|| ApiError::new(ErrorCode::TokenMissing, "no credentials were established"))
}

/// The tenant named by `x-organization-id`: 400 `ORGANIZATION_REQUIRED` when absent,
/// 400 `INVALID_ORGANIZATION_ID` when not a UUID. For an API key the header is optional (absent
/// → the key's organization) and naming another organization is 403 `NOT_A_MEMBER`.
pub fn organization_id<T>(request: &tonic::Request<T>) -> Result<Uuid, ApiError> {
    let key = request.extensions().get::<Caller>().and_then(|c| c.key.as_ref());
    let Some(raw) = request.metadata().get(ORGANIZATION_HEADER) else {
        return key.map(|k| k.organization_id).ok_or_else(|| {
            ApiError::new(ErrorCode::OrganizationRequired, "the X-Organization-Id header is required")
        });
    };
    let id = raw.to_str().ok().and_then(|s| Uuid::parse_str(s.trim()).ok()).ok_or_else(|| {
        ApiError::new(ErrorCode::InvalidOrganizationId, "the X-Organization-Id header is not a valid UUID")
    })?;
    match key {
        Some(key) if key.organization_id != id => {
            Err(ApiError::new(ErrorCode::NotAMember, "this API key belongs to another organization"))
        }
        _ => Ok(id),
    }
}

/// Checks credentials of every request against an [`AccessPolicy`].
pub struct Authenticator {
    verifier: Arc<TokenVerifier>,
    keys: Option<Arc<ApiKeyVerifier>>,
    service_token: String,
    policy: AccessPolicy,
}

impl Authenticator {
    pub fn new(verifier: Arc<TokenVerifier>, service_token: &str, policy: AccessPolicy) -> Self {
        Self { verifier, keys: None, service_token: service_token.to_owned(), policy }
    }

    /// Also accepts organization API keys, verified by `keys`.
    pub fn with_api_keys(mut self, keys: Arc<ApiKeyVerifier>) -> Self {
        self.keys = Some(keys);
        self
    }

    pub fn verifier(&self) -> &Arc<TokenVerifier> {
        &self.verifier
    }

    fn is_service(&self, headers: &HeaderMap) -> bool {
        headers
            .get(SERVICE_TOKEN_HEADER)
            .is_some_and(|v| bool::from(v.as_bytes().ct_eq(self.service_token.as_bytes())))
    }

    /// Establishes the caller of a request to `path` with `headers`.
    pub async fn authenticate(
        &self,
        path: &str,
        headers: &HeaderMap,
        peer: Option<IpAddr>,
        request_id: String,
    ) -> Result<Caller, ApiError> {
        let access = (self.policy)(path);
        let service = self.is_service(headers);
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim);
        let client = if service {
            ClientInfo {
                ip: header(FORWARDED_FOR_HEADER)
                    .and_then(|v| v.split(',').next())
                    .and_then(|ip| ip.trim().parse().ok())
                    .or(peer),
                user_agent: header(FORWARDED_USER_AGENT_HEADER)
                    .or(header("user-agent"))
                    .unwrap_or("")
                    .to_owned(),
            }
        } else {
            ClientInfo { ip: peer, user_agent: header("user-agent").unwrap_or("").to_owned() }
        };
        let mut caller = Caller { user: None, key: None, service, client, request_id };
        if access == Access::Public {
            return Ok(caller);
        }
        if access == Access::Service {
            if !service {
                return Err(ApiError::new(
                    ErrorCode::ServiceOnly,
                    "this method is only for Operant services",
                ));
            }
            return Ok(caller);
        }
        match header("authorization") {
            None | Some("") => {
                if access == Access::User {
                    return Err(ApiError::new(ErrorCode::TokenMissing, "an access token is required"));
                }
            }
            Some(value) => {
                let token = value
                    .strip_prefix("Bearer ")
                    .or_else(|| value.strip_prefix("bearer "))
                    .map(str::trim)
                    .filter(|t| !t.is_empty())
                    .ok_or_else(|| {
                        ApiError::new(
                            ErrorCode::TokenMalformed,
                            "the Authorization header must be `Bearer <token>`",
                        )
                    })?;
                if is_api_key(token) {
                    let keys = self.keys.as_ref().ok_or_else(|| {
                        ApiError::new(ErrorCode::ApiKeyUnknown, "this service does not accept API keys")
                    })?;
                    caller.key = Some(keys.verify(token, caller.client.ip).await?);
                } else {
                    caller.user = Some(self.verifier.verify(token).await?);
                }
            }
        }
        Ok(caller)
    }
}
