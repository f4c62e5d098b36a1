//! Interactive API documentation that renders with no internet access (no CDN anywhere):
//!
//! - `/openapi.json`: the document built with the routes ([`crate::routes::api`]).
//! - `/docs`: Swagger UI from `utoipa-swagger-ui` with its `vendored` feature, which takes the
//!   Swagger UI release from the `utoipa-swagger-ui-vendored` crate at build time and serves its
//!   files (bundle, preset, CSS, initializer) from this server. Its online-validator badge is
//!   switched off (`validatorUrl: "none"`): by default Swagger UI renders an `<img>` from
//!   `validator.swagger.io` (sending it the document's URL) whenever the page is not on
//!   `localhost`/`127.0.0.1` — so a local check never sees it, but every deployed view would.
//! - `/redoc`: ReDoc. `utoipa-redoc` has no vendored option (its page loads the bundle from a
//!   CDN and fonts from Google), so the page comes from the `aide` crate's `redoc` feature
//!   instead: `aide` ships the published `redoc.standalone.js` inside its crate and inlines it
//!   in the page it builds. We use only that page (`aide` without its `axum` feature, so none
//!   of its routing); the bundle thus arrives through crates.io like any dependency, builds on a
//!   fresh machine with only the Rust toolchain, and is never pasted into this repository. The
//!   npm `redoc` package was the alternative, but would need Node and a build step.
//!
//!   The bundle's sidebar footer ("API docs by Redocly") renders an `<img>` whose `src` is
//!   [`REDOC_CDN_LOGO`], unconditionally and on every view (no ReDoc option turns it off), so
//!   the page is patched once at startup: that `src` becomes [`REDOC_LOCAL_LOGO`], an inline
//!   SVG `data:` URL, and the page asks no other host for anything.

use std::sync::LazyLock;

use axum::Router;
use axum::response::Html;
use axum::routing::get;
use utoipa_swagger_ui::{Config, SwaggerUi};

use crate::state::AppState;

/// Where the document is served.
pub const OPENAPI_PATH: &str = "/openapi.json";

/// The image the ReDoc bundle fetches from Redocly's CDN on every view (its footer logo).
pub const REDOC_CDN_LOGO: &str = "src:\"https://cdn.redoc.ly/redoc/logo-mini.svg\"";

/// What replaces it: a small inline SVG (a grey square), so nothing is fetched. Single quotes
/// only, as it lands inside a double-quoted JavaScript string.
pub const REDOC_LOCAL_LOGO: &str = "src:\"data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' \
     viewBox='0 0 16 16'%3E%3Crect width='16' height='16' rx='3' fill='%23888'/%3E%3C/svg%3E\"";

/// The ReDoc page, built once (it embeds the ~1 MB bundle), with the CDN logo replaced.
static REDOC_PAGE: LazyLock<String> = LazyLock::new(|| {
    let page = aide::redoc::Redoc::new(OPENAPI_PATH).with_title("Operant API — ReDoc").html();
    // A newer bundle that moved the logo would silently bring the CDN request back; the test
    // `redoc_is_served_with_local_assets_only` fails then (it looks for the CDN host itself).
    page.replace(REDOC_CDN_LOGO, REDOC_LOCAL_LOGO)
});

async fn redoc() -> Html<&'static str> {
    Html(REDOC_PAGE.as_str())
}

/// `/openapi.json`, `/docs` and `/redoc`.
pub fn router(doc: serde_json::Value) -> Router<AppState> {
    Router::new()
        .merge(
            SwaggerUi::new("/docs")
                .external_url_unchecked(OPENAPI_PATH, doc)
                .config(Config::default().validator_url("none")),
        )
        .route("/redoc", get(redoc))
}
