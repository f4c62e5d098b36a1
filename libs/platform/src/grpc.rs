//! The gRPC server every service runs: its own services plus grpc.health.v1, server reflection
//! (v1 and v1alpha, with the health and rich-error descriptor sets so grpcurl can decode
//! `ErrorInfo`), grpc-web over HTTP/1.1 with CORS, the [`CallContextLayer`] (with the server's
//! OTLP [`Exporter`] when `OPERANT_OTLP_ENDPOINT` is set), the admin `/metrics` endpoint, health
//! that follows the database, and graceful shutdown that lets in-flight calls finish. The top
//! layer of the crate.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use http::{HeaderName, Method};
use tokio::net::TcpListener;
use tonic::service::Routes;
use tonic::transport::server::TcpIncoming;
use tonic::transport::{Identity, Server, ServerTlsConfig};
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::call_context::CallContextLayer;
use crate::config::Settings;
use crate::db::{self, PgPool};
use crate::headers::{
    IDEMPOTENCY_KEY_HEADER, IDEMPOTENT_REPLAYED_HEADER, ORGANIZATION_HEADER, REQUEST_ID_HEADER,
    TRACEPARENT_HEADER,
};
use crate::metrics::{Metrics, serve_admin};
use crate::otlp::Exporter;
use crate::principal::Authenticator;
use crate::shutdown::{Shutdown, bounded_drain};

/// Request headers a browser may send to grpc-web.
const CORS_ALLOW_HEADERS: [&str; 10] = [
    "if-match",
    "authorization",
    ORGANIZATION_HEADER,
    "x-grpc-web",
    "x-user-agent",
    "grpc-timeout",
    "content-type",
    REQUEST_ID_HEADER,
    TRACEPARENT_HEADER,
    IDEMPOTENCY_KEY_HEADER,
];
/// Response headers a browser may read.
const CORS_EXPOSE_HEADERS: [&str; 6] = [
    "grpc-status",
    "grpc-message",
    "grpc-status-details-bin",
    REQUEST_ID_HEADER,
    IDEMPOTENT_REPLAYED_HEADER,
    "retry-after",
];

/// CORS for grpc-web and REST, from `OPERANT_CORS_ORIGINS`.
pub fn cors(settings: &Settings) -> CorsLayer {
    let origins = if settings.cors_origins.iter().any(|o| o == "*") {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(settings.cors_origins.iter().filter_map(|o| o.parse().ok()))
    };
    CorsLayer::new()
        .allow_origin(origins)
        .allow_methods([
            Method::POST,
            Method::GET,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
            Method::OPTIONS,
        ])
        .allow_headers(CORS_ALLOW_HEADERS.map(HeaderName::from_static))
        .expose_headers(CORS_EXPOSE_HEADERS.map(HeaderName::from_static))
        .max_age(Duration::from_secs(600))
}

/// Adds the health and reflection services shared by every server.
fn with_standard_routes(
    routes: Routes,
    health: tonic_health::pb::health_server::HealthServer<impl tonic_health::pb::health_server::Health>,
    service_names: &[&'static str],
) -> anyhow::Result<Routes> {
    let sets = [
        operant_proto::FILE_DESCRIPTOR_SET,
        tonic_health::pb::FILE_DESCRIPTOR_SET,
        tonic_types::pb::FILE_DESCRIPTOR_SET,
    ];
    let mut v1 = tonic_reflection::server::Builder::configure();
    let mut v1alpha = tonic_reflection::server::Builder::configure();
    for set in sets {
        v1 = v1.register_encoded_file_descriptor_set(set);
        v1alpha = v1alpha.register_encoded_file_descriptor_set(set);
    }
    // Every descriptor is available (so types of other packages resolve), but only the services
    // this server really serves are listed.
    let standard = [
        "grpc.health.v1.Health",
        "grpc.reflection.v1.ServerReflection",
        "grpc.reflection.v1alpha.ServerReflection",
    ];
    for name in service_names.iter().copied().chain(standard) {
        v1 = v1.with_service_name(name);
        v1alpha = v1alpha.with_service_name(name);
    }
    Ok(routes
        .add_service(health)
        .add_service(v1.build_v1().context("reflection v1")?)
        .add_service(v1alpha.build_v1alpha().context("reflection v1alpha")?))
}

/// What a service hands to [`serve`].
pub struct ServerSpec {
    /// Service name for logs, for example `auth`.
    pub name: &'static str,
    /// The service's own gRPC services.
    pub routes: Routes,
    /// Full names of those services, whose health follows the database.
    pub service_names: Vec<&'static str>,
    pub authenticator: Arc<Authenticator>,
    /// The database whose reachability decides the health status.
    pub pool: PgPool,
    /// The service's metrics, served on `admin`.
    pub metrics: Arc<Metrics>,
    /// Where `/metrics` is served.
    pub admin: SocketAddr,
}

/// The grpc.health.v1 service name of the liveness check: SERVING from start to shutdown,
/// whatever the database does. Liveness probes use it (a database outage must make pods
/// unready, not restart them all); readiness probes use the overall status (`""`), which
/// follows the database.
pub const LIVENESS_SERVICE: &str = "operant.liveness";

/// Runs a gRPC server on `listener` until `shutdown` fires, then stops accepting and waits for
/// in-flight calls to finish, at most `settings.shutdown_grace` (then the remaining calls and
/// streams are cut).
pub async fn serve(
    settings: &Settings,
    listener: TcpListener,
    spec: ServerSpec,
    shutdown: Shutdown,
) -> anyhow::Result<()> {
    let (reporter, health) = tonic_health::server::health_reporter();
    set_health(&reporter, &spec.service_names, false).await;
    reporter.set_service_status(LIVENESS_SERVICE, ServingStatus::Serving).await;
    tokio::spawn(health_probe(reporter, spec.service_names.clone(), spec.pool.clone(), shutdown.clone()));

    let routes = with_standard_routes(spec.routes, health, &spec.service_names)?;
    let exporter = Exporter::from_settings(settings, spec.name, spec.metrics.clone())?;
    spec.metrics.watch_pool(spec.pool.clone());
    let admin = TcpListener::bind(spec.admin)
        .await
        .with_context(|| format!("{}: cannot listen on admin address {}", spec.name, spec.admin))?;
    tracing::info!(service = spec.name, addr = %admin.local_addr()?, "metrics at /metrics");
    tokio::spawn(serve_admin(admin, spec.metrics.clone(), shutdown.clone()));
    let addr = listener.local_addr()?;
    let mut builder = Server::builder()
        .accept_http1(true)
        .tcp_nodelay(true)
        .http2_keepalive_interval(Some(Duration::from_secs(30)));
    if let (Some(cert), Some(key)) = (&settings.tls.cert, &settings.tls.key) {
        let cert = std::fs::read(cert).with_context(|| format!("read {}", cert.display()))?;
        let key = std::fs::read(key).with_context(|| format!("read {}", key.display()))?;
        builder = builder.tls_config(ServerTlsConfig::new().identity(Identity::from_pem(cert, key)))?;
    }
    tracing::info!(service = spec.name, %addr, "gRPC server listening");
    // The builder's `tcp_nodelay` only applies to listeners it binds itself: set it on ours, or
    // every accepted socket runs Nagle's algorithm and small responses wait for delayed ACKs
    // (40 ms stalls, seen in the benchmark).
    let incoming = TcpIncoming::from(listener).with_nodelay(Some(true));
    let stop = shutdown.clone();
    let server = builder
        .layer(cors(settings))
        .layer(tonic_web::GrpcWebLayer::new())
        .layer(CallContextLayer::new(spec.authenticator, spec.name, spec.metrics, exporter.clone()))
        .add_routes(routes)
        .serve_with_incoming_shutdown(incoming, async move { stop.wait().await });
    bounded_drain(spec.name, server, &shutdown, settings.shutdown_grace)
        .await
        .with_context(|| format!("{} server on {addr}", spec.name))?;
    // The spans of the last calls.
    exporter.shutdown().await;
    tracing::info!(service = spec.name, "gRPC server stopped");
    Ok(())
}

async fn set_health(reporter: &HealthReporter, names: &[&'static str], serving: bool) {
    let status = if serving { ServingStatus::Serving } else { ServingStatus::NotServing };
    reporter.set_service_status("", status).await;
    for name in names {
        reporter.set_service_status(*name, status).await;
    }
}

/// Keeps health in step with the database: NOT_SERVING while `SELECT 1` fails.
async fn health_probe(reporter: HealthReporter, names: Vec<&'static str>, pool: PgPool, shutdown: Shutdown) {
    let mut last = None;
    loop {
        let up = db::ping(&pool, Duration::from_secs(1)).await;
        if last != Some(up) {
            set_health(&reporter, &names, up).await;
            if up {
                tracing::info!("database reachable: SERVING");
            } else {
                tracing::warn!("database unreachable: NOT_SERVING");
            }
            last = Some(up);
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(if up { 1000 } else { 250 })) => {}
            _ = shutdown.wait() => return,
        }
    }
}
