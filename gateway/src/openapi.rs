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

use std::collections::BTreeMap;

use utoipa::openapi::RefOr;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{IntoParams, IntoResponses, Modify, OpenApi};

use crate::error::{ApiErrorBody, FieldError};
use crate::openapi_errors::{JSON_BODY, PARAMS, TENANT, UPSTREAM, USER, error_responses};
use crate::routes;

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
    TenantErrors = [TENANT, PARAMS, UPSTREAM]
);
error_set!(
    /// Organization-scoped route with a JSON body.
    TenantJsonErrors = [TENANT, JSON_BODY, PARAMS, UPSTREAM]
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
    paths(
        routes::auth::register,
        routes::auth::login,
        routes::auth::refresh,
        routes::auth::logout,
        routes::auth::list_sessions,
        routes::auth::revoke_session,
        routes::auth::request_email_verification,
        routes::auth::confirm_email_verification,
        routes::auth::request_password_reset,
        routes::auth::confirm_password_reset,
        routes::auth::jwks,
        routes::users::get_me,
        routes::users::update_me,
        routes::users::change_password,
        routes::users::list_users,
        routes::organizations::create,
        routes::organizations::list,
        routes::organizations::get_one,
        routes::organizations::update,
        routes::organizations::delete_one,
        routes::members::list,
        routes::members::add,
        routes::members::update,
        routes::members::remove,
        routes::members::transfer_ownership,
        routes::subscription::get_one,
        routes::subscription::update,
        routes::subscription::features,
        routes::subscription::audit_log,
        routes::projects::create,
        routes::projects::list,
        routes::projects::get_one,
        routes::projects::update,
        routes::projects::delete_one,
        routes::tasks::create,
        routes::tasks::list,
        routes::tasks::get_one,
        routes::tasks::update,
        routes::tasks::delete_one,
        routes::health::health,
    ),
    components(schemas(ApiErrorBody, FieldError)),
    modifiers(&BearerScheme, &OperationIds),
    tags(
        (name = "auth", description = "Registration, login, tokens, sessions, email verification, password reset"),
        (name = "users", description = "The caller's profile and the organization's users"),
        (name = "organizations", description = "Organizations (tenants)"),
        (name = "members", description = "Memberships and roles"),
        (name = "subscription", description = "Plans, limits, features, audit log"),
        (name = "projects", description = "Projects of the organization in X-Organization-Id"),
        (name = "tasks", description = "Tasks of the organization in X-Organization-Id"),
        (name = "system", description = "Health"),
    )
)]
pub struct ApiDoc;
