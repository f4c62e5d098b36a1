//! The REST gateway: JSON over HTTP at `/api/v1`, translated to gRPC calls on the auth, tenancy
//! and work services. It holds no state and makes no decisions: every rule lives in the services,
//! so the REST and gRPC faces of the API cannot disagree.
//!
//! - [`state`]: [`AppState`], what every handler shares.
//! - [`upstream`]: channels to the services and the metadata each call forwards.
//! - [`extract`]: request extractors whose failures are JSON error bodies.
//! - [`error`]: the one error body, and how gRPC statuses map onto it.
//! - [`pagination`]: `skip`/`limit`/`order_by` and the list envelope.
//! - [`models`]: JSON bodies and their protobuf conversions.
//! - [`routes`]: one module of handlers per resource.
//! - [`serve`] and [`tls`]: the accept loop, its connection limits (header read timeout,
//!   connection cap) and HTTPS.
//! - [`openapi`] and [`docs`]: `/openapi.json`, Swagger UI at `/docs`, ReDoc at `/redoc`;
//!   [`openapi_errors`]: its shared error responses, generated from the registry of error codes.
//!
//! Around the routes ([`router`]): request ids (`X-Request-Id`, generated when absent and echoed),
//! the W3C trace context (the gateway's own span, exported over OTLP when
//! `OPERANT_OTLP_ENDPOINT` is set), metrics by route,
//! a tracing span per request with method, path, status and latency, CORS, the body size limit,
//! a panic catcher answering 500 in the error body, and a last safety net that turns any
//! non-JSON error response (axum's own 404/405, for example) into the error body.

pub mod auth_first;
pub mod docs;
pub mod error;
pub mod extract;
pub mod models;
pub mod openapi;
pub mod openapi_errors;
pub mod openapi_rules;
pub mod pagination;
pub mod routes;
pub mod serve;
pub mod state;
pub mod tls;
pub mod upstream;

use std::any::Any;
use std::sync::Arc;

use anyhow::Context as _;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, Request, StatusCode, header};
use axum::response::{IntoResponse, Response};
use operant_platform::config::Settings;
use operant_platform::error::ErrorCode;
use operant_platform::headers::{ORGANIZATION_HEADER, REQUEST_ID_HEADER, TRACEPARENT_HEADER};
use operant_platform::metrics::{Metrics, serve_admin};
use operant_platform::otlp::{self, Exporter, FinishedSpan};
use operant_platform::shutdown::Shutdown;
use operant_platform::trace::TraceContext;
use tokio::net::TcpListener;
use tower::ServiceBuilder;
use tower_http::LatencyUnit;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

pub use crate::state::AppState;

use crate::error::HttpError;

/// Serves the REST API on `listener` until `shutdown` fires, then lets in-flight requests finish.
pub async fn run(settings: Arc<Settings>, listener: TcpListener, shutdown: Shutdown) -> anyhow::Result<()> {
    let state = AppState::new(settings.clone())?;
    let addr = listener.local_addr()?;
    let admin = TcpListener::bind(settings.listen.gateway_admin).await.with_context(|| {
        format!("gateway: cannot listen on admin address {}", settings.listen.gateway_admin)
    })?;
    tracing::info!(addr = %admin.local_addr()?, "gateway metrics at /metrics");
    tokio::spawn(serve_admin(admin, state.metrics().clone(), shutdown.clone()));
    let exporter = state.exporter().clone();
    let app = router(state);
    tracing::info!(%addr, "REST gateway listening");
    let tls = match (&settings.tls.cert, &settings.tls.key) {
        (Some(cert), Some(key)) => Some(tls::acceptor(cert, key)?),
        _ => None,
    };
    let server = serve::serve(listener, app, tls, serve::Limits::from_settings(&settings), shutdown.clone());
    operant_platform::shutdown::bounded_drain("gateway", server, &shutdown, settings.shutdown_grace).await?;
    // The spans of the last requests.
    exporter.shutdown().await;
    tracing::info!("REST gateway stopped");
    Ok(())
}

/// The whole application: routes, docs and middleware.
pub fn router(state: AppState) -> Router {
    let (routes, doc) = routes::api();
    // Authentication, then membership, before the gateway's own validation (`auth_first`).
    let guards = Arc::new(auth_first::Guards::from_doc(&doc));
    let routes = routes.route_layer(axum::middleware::from_fn_with_state(
        state.clone(),
        move |axum::extract::State(state): axum::extract::State<AppState>, request, next| {
            auth_first::guard(guards.clone(), state, request, next)
        },
    ));
    let routes = routes.merge(docs::router(doc));
    with_middleware(routes, state)
}

/// `routes` with the fallbacks and the middleware stack of [`router`] (public so tests can put
/// extra routes, such as a panicking one, behind the same stack).
pub fn with_middleware(routes: Router<AppState>, state: AppState) -> Router {
    let settings = state.settings().clone();
    let metrics = state.metrics().clone();
    let exporter = state.exporter().clone();
    let request_id = header::HeaderName::from_static(REQUEST_ID_HEADER);
    let trace = TraceLayer::new_for_http()
        .make_span_with(|request: &Request<_>| {
            let header = |name| request.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or("");
            // The gateway's own span, put there by `start_trace` (which runs first).
            let trace_id = request
                .extensions()
                .get::<TraceContext>()
                .copied()
                .or_else(|| TraceContext::parse(header(TRACEPARENT_HEADER)))
                .map(|t| t.trace_id_hex());
            tracing::info_span!(
                "http",
                method = %request.method(),
                path = %request.uri().path(),
                request_id = %header(REQUEST_ID_HEADER),
                trace_id = trace_id.as_deref().unwrap_or(""),
                organization_id = %header(ORGANIZATION_HEADER),
            )
        })
        .on_response(DefaultOnResponse::new().level(Level::INFO).latency_unit(LatencyUnit::Millis));
    routes.fallback(not_found).method_not_allowed_fallback(method_not_allowed).with_state(state).layer(
        ServiceBuilder::new()
            .layer(SetRequestIdLayer::new(request_id.clone(), MakeRequestUuid))
            .layer(axum::middleware::map_request(start_trace))
            .layer(axum::middleware::from_fn(move |request, next| {
                observe(metrics.clone(), exporter.clone(), request, next)
            }))
            .layer(trace)
            .layer(PropagateRequestIdLayer::new(request_id))
            .layer(operant_platform::grpc::cors(&settings))
            .layer(axum::middleware::map_response(json_errors_only))
            .layer(CatchPanicLayer::custom(panic_response))
            .layer(DefaultBodyLimit::max(settings.max_body_bytes)),
    )
}

/// Continues the caller's W3C trace (or starts one) with a span of the gateway's own (whose
/// parent is the client's span), puts it in the `traceparent` header that [`upstream::Forward`]
/// sends on to the services (so it becomes their parent), and in the request extensions for
/// [`observe`].
async fn start_trace(mut request: Request<axum::body::Body>) -> Request<axum::body::Body> {
    let incoming = request.headers().get(TRACEPARENT_HEADER).and_then(|v| v.to_str().ok());
    let trace = TraceContext::continue_or_start(incoming);
    if let Ok(value) = HeaderValue::from_str(&trace.to_string()) {
        request.headers_mut().insert(TRACEPARENT_HEADER, value);
    }
    request.extensions_mut().insert(trace);
    request
}

/// Records every request in the REST metrics, by route template (never the raw path, whose ids
/// would make unbounded label values), and, when the exporter is enabled and the trace sampled,
/// as the gateway's SERVER span (not for `/health`, which probes call all the time).
async fn observe(
    metrics: Arc<Metrics>,
    exporter: Exporter,
    request: Request<axum::body::Body>,
    next: axum::middleware::Next,
) -> Response {
    let started = std::time::Instant::now();
    let method = request.method().as_str().to_owned();
    let matched = request.extensions().get::<axum::extract::MatchedPath>().map(|m| m.as_str().to_owned());
    let export = match request.extensions().get::<TraceContext>() {
        Some(trace) if exporter.is_enabled() && trace.sampled && matched.as_deref() != Some("/health") => {
            Some((*trace, std::time::SystemTime::now()))
        }
        _ => None,
    };
    let response = next.run(request).await;
    let status = response.status();
    let elapsed = started.elapsed();
    let route = matched.as_deref().unwrap_or("unmatched");
    metrics.record_http(&method, route, status.as_u16(), elapsed);
    if let Some((trace, start)) = export {
        exporter.record(http_span(&method, matched.as_deref(), status, trace, start, start + elapsed));
    }
    response
}

/// The gateway's SERVER span of one REST request, with the OpenTelemetry HTTP attributes; ERROR
/// on a 5xx answer.
fn http_span(
    method: &str,
    route: Option<&str>,
    status: StatusCode,
    trace: TraceContext,
    start: std::time::SystemTime,
    end: std::time::SystemTime,
) -> FinishedSpan {
    let mut attributes = vec![
        otlp::string("http.request.method", method),
        otlp::int("http.response.status_code", i64::from(status.as_u16())),
    ];
    if let Some(route) = route {
        attributes.push(otlp::string("http.route", route));
    }
    FinishedSpan {
        trace,
        name: route.map_or_else(|| method.to_owned(), |route| format!("{method} {route}")),
        start,
        end,
        attributes,
        error: status.is_server_error().then(|| status.as_u16().to_string()),
    }
}

async fn not_found() -> HttpError {
    HttpError::not_found()
}

async fn method_not_allowed() -> HttpError {
    HttpError::new(ErrorCode::MethodNotAllowed, "method not allowed for this route")
}

fn panic_response(panic: Box<dyn Any + Send + 'static>) -> Response {
    let message = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("(non-string panic)");
    tracing::error!(panic = message, "handler panicked");
    HttpError::internal().into_response()
}

fn error_code_for(status: StatusCode) -> String {
    match status {
        StatusCode::NOT_FOUND => ErrorCode::NotFound.as_str().to_owned(),
        StatusCode::METHOD_NOT_ALLOWED => ErrorCode::MethodNotAllowed.as_str().to_owned(),
        StatusCode::PAYLOAD_TOO_LARGE => ErrorCode::PayloadTooLarge.as_str().to_owned(),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ErrorCode::UnsupportedMediaType.as_str().to_owned(),
        StatusCode::INTERNAL_SERVER_ERROR => ErrorCode::InternalError.as_str().to_owned(),
        other => other.canonical_reason().unwrap_or("ERROR").to_ascii_uppercase().replace([' ', '-'], "_"),
    }
}

/// The safety net: an error response that is not JSON (from axum, tower-http or a bundled
/// router) is replaced by the error body with the same status, keeping its other headers
/// (`Allow`, `Retry-After`, CORS, ...).
async fn json_errors_only<B>(response: Response<B>) -> Response
where
    B: axum::body::HttpBody<Data = bytes::Bytes> + Send + 'static,
    B::Error: Into<axum::BoxError>,
{
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response.map(axum::body::Body::new);
    }
    let (parts, _) = response.into_parts();
    let detail = status.canonical_reason().unwrap_or("error").to_ascii_lowercase();
    let mut replaced = HttpError::from_parts(status, &error_code_for(status), detail).into_response();
    for (name, value) in &parts.headers {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            replaced.headers_mut().insert(name.clone(), value.clone());
        }
    }
    if !replaced.headers().contains_key(header::CONTENT_TYPE) {
        replaced.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    }
    replaced
}
