//! Authentication first, then tenant membership, then validation — on every protected route.
//!
//! The services check credentials before anything else, and membership before the fields of a
//! request. The gateway, however, refuses some requests itself before any call (a body that is
//! not JSON or has a wrong type, a path id that is not a UUID, a bad `If-Match`, page or filter):
//! answered as they are, an anonymous caller would learn the validation rules of protected routes,
//! and a non-member those of an organization's routes.
//!
//! So on the routes whose OpenAPI operation requires credentials, a 4xx the gateway produced
//! itself (marked with [`GatewayRejection`] by [`HttpError`]) is not answered
//! until the caller has been checked by the service that owns the check:
//! - every protected route: the credentials (auth `GetCurrentUser`): 401 if they are missing or
//!   invalid;
//! - routes scoped by `X-Organization-Id`: membership of that organization (work `ListProjects`
//!   of one row, which asks tenancy): 400 for a missing or malformed header, 403 `NOT_A_MEMBER`;
//! - routes under `/organizations/{id}`: membership of that organization (tenancy
//!   `GetOrganization`): 403 `NOT_A_MEMBER` (a path id that is not a UUID is only
//!   authenticated, then refused as invalid).
//!
//! Only failing requests pay for the check; a valid request goes straight to its service, which
//! checks the same things in the same order. Which routes are protected and how they are scoped
//! is read from the OpenAPI document ([`Guards::from_doc`]), so the document and the checks
//! cannot disagree.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{FromRequestParts, MatchedPath, Request};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::{Method, StatusCode};
use operant_platform::error::ErrorCode;
use operant_proto::auth::v1::GetCurrentUserRequest;
use operant_proto::auth::v1::user_service_client::UserServiceClient;
use operant_proto::common::v1::PageRequest;
use operant_proto::tenancy::v1::GetOrganizationRequest;
use operant_proto::tenancy::v1::organization_service_client::OrganizationServiceClient;
use operant_proto::work::v1::ListProjectsRequest;
use operant_proto::work::v1::project_service_client::ProjectServiceClient;
use serde_json::Value;

use crate::error::{GatewayRejection, HttpError};
use crate::state::AppState;
use crate::upstream::Forward;

/// What a protected route requires besides credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Credentials only.
    User,
    /// Membership of the organization in `X-Organization-Id`.
    TenantHeader,
    /// Membership of the organization in the path (`/api/v1/organizations/{id}/…`).
    OrganizationPath,
}

/// The header that scopes a route to an organization.
const ORGANIZATION_HEADER: &str = "X-Organization-Id";
/// The prefix of the routes scoped by the organization in their path.
const ORGANIZATION_PATH: &str = "/api/v1/organizations/{id}";

/// The protected routes, by method and path template.
#[derive(Debug, Default)]
pub struct Guards(HashMap<(Method, String), Scope>);

impl Guards {
    /// Every operation of `doc` that requires credentials (a security requirement without the
    /// empty alternative), with its scope.
    pub fn from_doc(doc: &Value) -> Self {
        let mut guards = HashMap::new();
        let paths = doc["paths"].as_object().into_iter().flatten();
        for (path, item) in paths {
            for (method, op) in item.as_object().into_iter().flatten() {
                let Ok(method) = Method::from_bytes(method.to_ascii_uppercase().as_bytes()) else { continue };
                let Some(security) = op["security"].as_array() else { continue };
                let optional = security.iter().any(|r| r.as_object().is_some_and(|o| o.is_empty()));
                if security.is_empty() || optional {
                    continue;
                }
                let tenant_header = op["parameters"].as_array().into_iter().flatten().any(|p| {
                    p["in"] == "header"
                        && p["name"].as_str().is_some_and(|n| n.eq_ignore_ascii_case(ORGANIZATION_HEADER))
                });
                let scope = if tenant_header {
                    Scope::TenantHeader
                } else if path == ORGANIZATION_PATH || path.starts_with(&format!("{ORGANIZATION_PATH}/")) {
                    Scope::OrganizationPath
                } else {
                    Scope::User
                };
                guards.insert((method, path.clone()), scope);
            }
        }
        Self(guards)
    }

    /// The scope of a protected route (`None` for a public one).
    pub fn scope(&self, method: &Method, path: &str) -> Option<Scope> {
        self.0.get(&(method.clone(), path.to_owned())).copied()
    }

    /// How many routes are protected.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The middleware (a route layer, so the matched path is known): runs the handler and, when a
/// protected route answered with a rejection of the gateway's own, checks the caller first.
pub async fn guard(guards: Arc<Guards>, state: AppState, request: Request, next: Next) -> Response {
    let matched = request.extensions().get::<MatchedPath>().map(|m| m.as_str().to_owned());
    let Some(scope) = matched.and_then(|path| guards.scope(request.method(), &path)) else {
        return next.run(request).await;
    };
    let (mut parts, body) = request.into_parts();
    let fwd = match Forward::from_request_parts(&mut parts, &state).await {
        Ok(fwd) => fwd,
        Err(never) => match never {},
    };
    // `/api/v1/organizations/<id>/…`: the id is the fifth segment (after the leading "").
    let organization = parts.uri.path().split('/').nth(4).map(str::to_owned);
    let response = next.run(Request::from_parts(parts, body)).await;
    let rejected =
        response.extensions().get::<GatewayRejection>().is_some() && response.status().is_client_error();
    if !rejected {
        return response;
    }
    match check_caller(&state, &fwd, scope, organization.as_deref()).await {
        Some(error) => error.into_response(),
        None => response,
    }
}

/// The error the caller's credentials or membership earn before any validation, if any.
async fn check_caller(
    state: &AppState,
    fwd: &Forward,
    scope: Scope,
    organization: Option<&str>,
) -> Option<HttpError> {
    let upstream = state.upstream();
    let organization = organization.filter(|id| uuid::Uuid::parse_str(id).is_ok());
    let result = match (scope, organization) {
        (Scope::TenantHeader, _) => {
            let probe = ListProjectsRequest {
                page: Some(PageRequest { skip: 0, limit: 1, ..Default::default() }),
                ..Default::default()
            };
            let mut client = ProjectServiceClient::new(upstream.work.clone());
            upstream.call(client.list_projects(fwd.request(upstream, probe))).await.map(drop)
        }
        (Scope::OrganizationPath, Some(id)) => {
            let probe = GetOrganizationRequest { organization_id: id.to_owned() };
            let mut client = OrganizationServiceClient::new(upstream.tenancy.clone());
            upstream.call(client.get_organization(fwd.request(upstream, probe))).await.map(drop)
        }
        (Scope::User | Scope::OrganizationPath, _) => {
            let mut client = UserServiceClient::new(upstream.auth.clone());
            upstream
                .call(client.get_current_user(fwd.request(upstream, GetCurrentUserRequest {})))
                .await
                .map(drop)
        }
    };
    let error = result.err()?;
    let decisive = match error.status {
        StatusCode::UNAUTHORIZED => true,
        // A missing or malformed tenant header, or a caller outside the organization; not an
        // API key on a person-only check (that key is authenticated).
        StatusCode::BAD_REQUEST | StatusCode::FORBIDDEN => {
            scope != Scope::User && error.body.error_code != ErrorCode::ApiKeyNotAllowed.as_str()
        }
        _ => false,
    };
    decisive.then_some(error)
}
