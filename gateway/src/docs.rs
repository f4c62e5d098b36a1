//! Interactive API documentation that renders with no internet access (no CDN anywhere):
//!
//! - `/openapi.json`: the document built with the routes ([`crate::routes::api`]).
//! - `/docs`: Swagger UI from `utoipa-swagger-ui` with its `vendored` feature, which takes the
//!   Swagger UI release from the `utoipa-swagger-ui-vendored` crate at build time and serves its
//!   files (bundle, preset, CSS, initializer) from this server.
//! - `/redoc`: ReDoc. `utoipa-redoc` has no vendored option (its page loads the bundle from a
//!   CDN and fonts from Google), so the page comes from the `aide` crate's `redoc` feature
//!   instead: `aide` ships the published `redoc.standalone.js` inside its crate and inlines it
//!   in the page it builds. We use only that page (`aide` without its `axum` feature, so none
//!   of its routing); the bundle thus arrives through crates.io like any dependency, builds on a
//!   fresh machine with only the Rust toolchain, and is never pasted into this repository. The
//!   npm `redoc` package was the alternative, but would need Node and a build step.

use std::sync::LazyLock;

use axum::Router;
use axum::response::Html;
use axum::routing::get;
use utoipa::openapi::OpenApi;
use utoipa_swagger_ui::SwaggerUi;

use crate::state::AppState;

/// Where the document is served.
pub const OPENAPI_PATH: &str = "/openapi.json";

/// The ReDoc page, built once (it embeds the ~1 MB bundle).
static REDOC_PAGE: LazyLock<String> =
    LazyLock::new(|| aide::redoc::Redoc::new(OPENAPI_PATH).with_title("Operant API — ReDoc").html());

async fn redoc() -> Html<&'static str> {
    Html(REDOC_PAGE.as_str())
}

/// `/openapi.json`, `/docs` and `/redoc`.
pub fn router(doc: OpenApi) -> Router<AppState> {
    Router::new().merge(SwaggerUi::new("/docs").url(OPENAPI_PATH, doc)).route("/redoc", get(redoc))
}
