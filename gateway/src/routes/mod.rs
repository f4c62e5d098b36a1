//! REST handlers, one module per resource. Each handler only maps: JSON/query/path → protobuf
//! request, forwarded metadata in, protobuf response → JSON out. Every rule (permissions,
//! validation of values, limits) lives in the services.
//!
//! The route table is kept once: each handler's `#[utoipa::path]` names its method(s) and path,
//! and [`api`] registers the handlers with `utoipa-axum`'s `routes!`, which builds the axum route
//! and the OpenAPI operation from that one annotation. A route cannot be served undocumented or
//! documented unserved.

pub mod api_keys;
pub mod auth;
pub mod events;
pub mod health;
pub mod invitations;
pub mod members;
pub mod organizations;
pub mod projects;
pub mod subscription;
pub mod tasks;
pub mod users;
pub mod webhooks;

use axum::Router;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{HttpError, HttpResult};
use crate::state::AppState;

/// Every REST route and the OpenAPI document (as served) that describes exactly those routes.
pub fn api() -> (Router<AppState>, serde_json::Value) {
    let (router, mut doc) = OpenApiRouter::with_openapi(crate::openapi::base())
        .merge(auth::router())
        .merge(users::router())
        .merge(organizations::router())
        .merge(members::router())
        .merge(invitations::router())
        .merge(api_keys::router())
        .merge(subscription::router())
        .merge(projects::router())
        .merge(tasks::router())
        .merge(events::router())
        .merge(webhooks::router())
        .routes(routes!(health::health))
        .split_for_parts();
    crate::openapi::finish(&mut doc);
    (router, crate::openapi_rules::document(&doc))
}

/// A field the service must always fill; its absence is a service bug (logged 500).
pub(crate) fn required<T>(value: Option<T>, what: &str) -> HttpResult<T> {
    value.ok_or_else(|| {
        tracing::error!(what, "service answered without a required field");
        HttpError::internal()
    })
}

/// Rejects an explicit `null` for a field that cannot be cleared.
pub(crate) fn not_null<T>(body_has_key: bool, value: &Option<T>, field: &str) -> HttpResult<()> {
    if body_has_key && value.is_none() {
        return Err(HttpError::validation(field, "may not be null"));
    }
    Ok(())
}
