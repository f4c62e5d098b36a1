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
        (name = "events", description = "The change feed of the organization in X-Organization-Id (ADMIN+)"),
        (name = "webhooks", description = "Signed webhook endpoints of an organization (ADMIN+, PRO feature `webhooks`)"),
        (name = "system", description = "Health"),
    )
)]
pub struct ApiDoc;

/// The document before the routes add their paths: info, shared schemas, security, tags.
pub fn base() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

/// The routes that take an `Idempotency-Key` (see the README's **Safe retries**): every POST that
/// creates or changes something, and the plan change; not login, refresh or logout.
pub const IDEMPOTENT_ROUTES: &[(&str, &str)] = &[
    ("post", "/api/v1/auth/register"),
    ("post", "/api/v1/organizations"),
    ("post", "/api/v1/organizations/{id}/invitations"),
    ("post", "/api/v1/organizations/{id}/members"),
    ("post", "/api/v1/organizations/{id}/api-keys"),
    ("post", "/api/v1/organizations/{id}/transfer-ownership"),
    ("put", "/api/v1/organizations/{id}/subscription"),
    ("post", "/api/v1/projects"),
    ("post", "/api/v1/tasks"),
];

/// Adds to each of [`IDEMPOTENT_ROUTES`] the `Idempotency-Key` header, the `Idempotent-Replayed`
/// header of its success and the 400/409/422 answers of a bad, running or reused key (merged
/// into the responses the route already declares for those statuses).
struct IdempotencyKeys;

impl Modify for IdempotencyKeys {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use operant_platform::error::ErrorCode;
        use utoipa::openapi::header::HeaderBuilder;
        use utoipa::openapi::path::{ParameterBuilder, ParameterIn};
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        use utoipa::openapi::{Required, Schema};

        for (method, path) in IDEMPOTENT_ROUTES {
            let Some(item) = openapi.paths.paths.get_mut(*path) else {
                panic!("idempotent route {method} {path} is not in the route table");
            };
            let op = match *method {
                "post" => item.post.as_mut(),
                "put" => item.put.as_mut(),
                _ => None,
            };
            let Some(op) = op else { panic!("idempotent route {method} {path} has no such operation") };
            let key_schema = ObjectBuilder::new()
                .schema_type(Type::String)
                .min_length(Some(1))
                .max_length(Some(operant_platform::idempotency::MAX_KEY_CHARS))
                .pattern(Some(crate::openapi_rules::IDEMPOTENCY_KEY_PATTERN));
            op.parameters.get_or_insert_with(Vec::new).push(
                ParameterBuilder::new()
                    .name("Idempotency-Key")
                    .parameter_in(ParameterIn::Header)
                    .required(Required::False)
                    .description(Some(
                        "Makes a retry safe: 1 to 255 visible ASCII characters (a UUID is suggested), \
                         scoped to the caller and the route, kept 24 hours. The same key with the same \
                         request answers the first answer again (`Idempotent-Replayed: true`) without \
                         doing anything twice; with another request 422 `IDEMPOTENCY_KEY_REUSED`; while \
                         the first is still running 409 `IDEMPOTENCY_IN_FLIGHT` with `Retry-After: 1`.",
                    ))
                    .schema(Some(key_schema))
                    .build(),
            );
            for (status, response) in op.responses.responses.iter_mut() {
                if let (true, RefOr::T(response)) = (status.starts_with('2'), response) {
                    response.headers.insert(
                        "Idempotent-Replayed".to_owned(),
                        HeaderBuilder::new()
                            .schema(Schema::Object(ObjectBuilder::new().schema_type(Type::String).build()))
                            .description(Some("`true` when this is the kept answer of an earlier request with the same `Idempotency-Key`"))
                            .build(),
                    );
                }
            }
            let codes = [
                ErrorCode::InvalidIdempotencyKey,
                ErrorCode::IdempotencyInFlight,
                ErrorCode::IdempotencyKeyReused,
            ];
            for code in codes {
                let status = code.http_status().to_string();
                let line = format!("`{code}`: {}", code.meaning());
                match op.responses.responses.get_mut(&status) {
                    Some(RefOr::T(response)) => {
                        response.description = format!("{}; {line}", response.description);
                    }
                    _ => {
                        let mut new = crate::openapi_errors::error_responses(&[&[code]]);
                        if let Some(response) = new.remove(&status) {
                            op.responses.responses.insert(status.clone(), response);
                        }
                    }
                }
                if code == ErrorCode::IdempotencyInFlight
                    && let Some(RefOr::T(response)) = op.responses.responses.get_mut(&status)
                {
                    response.headers.insert(
                        "Retry-After".to_owned(),
                        HeaderBuilder::new()
                            .schema(Schema::Object(ObjectBuilder::new().schema_type(Type::Integer).build()))
                            .description(Some("Seconds to wait (`IDEMPOTENCY_IN_FLIGHT`: 1)"))
                            .build(),
                    );
                }
            }
        }
    }
}

/// What is done once every path is in: the idempotency keys, unique operation ids (the
/// services' input rules and the links are added to the JSON document by
/// [`crate::openapi_rules::document`]).
pub fn finish(doc: &mut utoipa::openapi::OpenApi) {
    IdempotencyKeys.modify(doc);
    OperationIds.modify(doc);
}
