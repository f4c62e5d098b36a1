//! The OpenAPI 3 document, served at `/openapi.json` (and rendered by `/docs` and `/redoc`).
//!
//! Every handler carries `#[utoipa::path]` with its success status and the error statuses that
//! are specific to it (404, 409, 412, 429, ...). The error statuses that whole families of routes
//! share — a JSON body can be malformed (400), too large (413), of the wrong type (415) or invalid
//! (422); a secured route can answer 401; a tenant route 400/403 for its `X-Organization-Id`; any
//! route 500/503/504 — are listed once here as [`IntoResponses`] sets, named in each handler's
//! `responses(...)`, so the document lists every status a route can return without forty copies
//! of the same lines; their codes and statuses come from the registry ([`crate::openapi_errors`]).
//! Every error response uses the one [`ApiErrorBody`] schema.
//!
//! The paths are not listed here: the route table ([`crate::routes::api`]) adds each route's
//! operation to [`base`] as it registers the route.

use std::collections::BTreeMap;

use utoipa::openapi::RefOr;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{IntoParams, IntoResponses, Modify, OpenApi};

use crate::error::{ApiErrorBody, FieldError};
use crate::openapi_errors::{JSON_BODY, LIST, PARAMS, TENANT, UPSTREAM, USER, error_responses};

macro_rules! error_set {
    ($(#[$meta:meta])* $name:ident = [$($set:expr),* $(,)?]) => {
        $(#[$meta])*
        pub struct $name;
        impl IntoResponses for $name {
            fn responses() -> BTreeMap<String, RefOr<utoipa::openapi::Response>> {
                error_responses(&[$(&$set[..]),*])
            }
        }
    };
}

error_set!(
    /// Public route with a JSON body.
    PublicJsonErrors = [JSON_BODY, UPSTREAM]
);
error_set!(
    /// Route that needs an access token.
    UserErrors = [USER, PARAMS, UPSTREAM]
);
error_set!(
    /// Route that needs an access token and takes a JSON body.
    UserJsonErrors = [USER, JSON_BODY, PARAMS, UPSTREAM]
);
error_set!(
    /// Organization-scoped route (tenant from `X-Organization-Id` or the path).
    TenantErrors = [USER, TENANT, PARAMS, UPSTREAM]
);
error_set!(
    /// Organization-scoped route with a JSON body.
    TenantJsonErrors = [USER, TENANT, JSON_BODY, PARAMS, UPSTREAM]
);
error_set!(
    /// A list that needs an access token (paged: `page_token` may be refused).
    UserListErrors = [USER, PARAMS, LIST, UPSTREAM]
);
error_set!(
    /// An organization-scoped list (paged: `page_token` may be refused).
    TenantListErrors = [USER, TENANT, PARAMS, LIST, UPSTREAM]
);
error_set!(
    /// Only upstream failures.
    UpstreamErrors = [UPSTREAM]
);

/// The tenant header of organization-scoped routes.
#[derive(IntoParams)]
#[into_params(parameter_in = Header)]
#[allow(dead_code)]
pub struct OrganizationHeader {
    /// UUID of the organization to act in.
    #[param(rename = "X-Organization-Id")]
    x_organization_id: uuid::Uuid,
}

/// The optimistic-concurrency precondition of PUT/PATCH/DELETE on projects and tasks.
#[derive(IntoParams)]
#[into_params(parameter_in = Header)]
#[allow(dead_code)]
pub struct IfMatchHeader {
    /// The `version` (ETag) the change is based on, e.g. `"3"`; a stale one gets 412
    /// `VERSION_MISMATCH`. Without it the last write wins.
    #[param(rename = "If-Match")]
    if_match: Option<String>,
}

/// Adds the `bearer` security scheme (access tokens from `/auth/login`).
struct BearerScheme;

impl Modify for BearerScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("JWT").build(),
            ),
        );
    }
}

/// Makes operation ids unique: handler names repeat across resources (`create`, `list`, ...),
/// so each id becomes `<tag>_<handler>`; the PATCH twin of a PUT handler gets `_patch`.
struct OperationIds;

impl Modify for OperationIds {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for item in openapi.paths.paths.values_mut() {
            let ops = [
                (&mut item.get, ""),
                (&mut item.put, ""),
                (&mut item.post, ""),
                (&mut item.delete, ""),
                (&mut item.patch, "_patch"),
            ];
            for (op, suffix) in ops {
                let Some(op) = op.as_mut() else { continue };
                let tag = op.tags.as_ref().and_then(|t| t.first()).cloned().unwrap_or_default();
                if let Some(id) = op.operation_id.as_mut() {
                    *id = format!("{tag}_{id}{suffix}").trim_start_matches('_').to_owned();
                }
            }
        }
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Operant API",
        description = "Multi-tenant SaaS backend: accounts and sessions, organizations with roles and plans, projects and tasks. Every error has the body `{\"detail\", \"error_code\", \"status_code\"}`.",
    ),
    components(schemas(ApiErrorBody, FieldError)),
    modifiers(&BearerScheme),
    tags(
        (name = "auth", description = "Registration, login, tokens, sessions, email verification, password reset"),
        (name = "users", description = "The caller's profile and the organization's users"),
        (name = "organizations", description = "Organizations (tenants)"),
        (name = "members", description = "Memberships and roles"),
        (name = "invitations", description = "Inviting people by email, and accepting or declining invitations"),
        (name = "api_keys", description = "Organization API keys: credentials for machines (`Authorization: Bearer opk_…`)"),
        (name = "subscription", description = "Plans, limits, features, audit log"),
        (name = "projects", description = "Projects of the organization in X-Organization-Id"),
        (name = "tasks", description = "Tasks of the organization in X-Organization-Id"),
        (name = "system", description = "Health"),
    )
)]
pub struct ApiDoc;

/// The document before the routes add their paths: info, shared schemas, security, tags.
pub fn base() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

/// What is done once every path is in: unique operation ids.
pub fn finish(doc: &mut utoipa::openapi::OpenApi) {
    OperationIds.modify(doc);
}
