//! Prometheus metrics of one service, served at `/metrics` on the service's admin port.
//!
//! Series (every one labelled with `service`):
//! - `operant_grpc_requests_total{method, code}` and
//!   `operant_grpc_request_duration_seconds{method, code}`: every gRPC call, by full method
//!   path and final gRPC status code name (read from the trailers, or from the headers of a
//!   trailers-only answer), recorded by the [`CallContextLayer`](crate::call_context::CallContextLayer);
//! - `operant_http_requests_total{method, route, status}` and
//!   `operant_http_request_duration_seconds{method, route, status}`: REST calls (the gateway);
//! - `operant_db_pool_connections{state}`: `max`, `open`, `idle` and `waiting` (callers queued
//!   for a connection), read from the pool at scrape time;
//! - `operant_bcrypt_queue_depth`: password hashes waiting for or running on the blocking pool
//!   (the auth service);
//! - `operant_otlp_spans_dropped_total{reason}`: spans the OTLP exporter ([`crate::otlp`]) could
//!   not deliver: `queue_full`, `export_failed` or `rejected` (by the collector).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::db::PgPool;
use crate::shutdown::Shutdown;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct GrpcLabels {
    method: String,
    code: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HttpLabels {
    method: String,
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DropLabels {
    reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PoolLabels {
    state: &'static str,
}

fn latency_histogram() -> Histogram {
    // 100 µs .. ~6.5 s
    Histogram::new(exponential_buckets(0.0001, 2.0, 17))
}

/// The metrics of one service process.
pub struct Metrics {
    registry: Mutex<Registry>,
    grpc_requests: Family<GrpcLabels, Counter>,
    grpc_latency: Family<GrpcLabels, Histogram, fn() -> Histogram>,
    http_requests: Family<HttpLabels, Counter>,
    http_latency: Family<HttpLabels, Histogram, fn() -> Histogram>,
    pool_connections: Family<PoolLabels, Gauge>,
    bcrypt_queue: Gauge,
    otlp_dropped: Family<DropLabels, Counter>,
    pool: Mutex<Option<PgPool>>,
}

impl Metrics {
    pub fn new(service: &'static str) -> Arc<Self> {
        let mut registry = Registry::with_prefix_and_labels(
            "operant",
            [(std::borrow::Cow::Borrowed("service"), std::borrow::Cow::Borrowed(service))].into_iter(),
        );
        let metrics = Metrics {
            grpc_requests: Family::default(),
            grpc_latency: Family::new_with_constructor(latency_histogram),
            http_requests: Family::default(),
            http_latency: Family::new_with_constructor(latency_histogram),
            pool_connections: Family::default(),
            bcrypt_queue: Gauge::default(),
            otlp_dropped: Family::default(),
            pool: Mutex::new(None),
            registry: Mutex::new(Registry::default()),
        };
        registry.register(
            "grpc_requests",
            "gRPC calls by method and status code",
            metrics.grpc_requests.clone(),
        );
        registry.register(
            "grpc_request_duration_seconds",
            "gRPC call latency by method and status code",
            metrics.grpc_latency.clone(),
        );
        registry.register(
            "http_requests",
            "REST requests by method, route and status",
            metrics.http_requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "REST request latency by method, route and status",
            metrics.http_latency.clone(),
        );
        registry.register(
            "db_pool_connections",
            "database pool connections by state (max, open, idle, waiting)",
            metrics.pool_connections.clone(),
        );
        registry.register(
            "bcrypt_queue_depth",
            "password hashes queued for or running on the blocking pool",
            metrics.bcrypt_queue.clone(),
        );
        registry.register(
            "otlp_spans_dropped",
            "spans the OTLP exporter dropped, by reason (queue_full, export_failed, rejected)",
            metrics.otlp_dropped.clone(),
        );
        if let Ok(mut r) = metrics.registry.lock() {
            *r = registry;
        }
        Arc::new(metrics)
    }

    /// Reports this pool's usage at every scrape.
    pub fn watch_pool(&self, pool: PgPool) {
        if let Ok(mut p) = self.pool.lock() {
            *p = Some(pool);
        }
    }

    pub fn record_grpc(&self, method: &str, code: tonic::Code, elapsed: Duration) {
        let labels = GrpcLabels { method: method.to_owned(), code: code_name(code) };
        self.grpc_requests.get_or_create(&labels).inc();
        self.grpc_latency.get_or_create(&labels).observe(elapsed.as_secs_f64());
    }

    pub fn record_http(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        let labels = HttpLabels { method: method.to_owned(), route: route.to_owned(), status };
        self.http_requests.get_or_create(&labels).inc();
        self.http_latency.get_or_create(&labels).observe(elapsed.as_secs_f64());
    }

    /// Counts `spans` the OTLP exporter dropped for `reason`.
    pub fn record_otlp_dropped(&self, reason: &'static str, spans: u64) {
        self.otlp_dropped.get_or_create(&DropLabels { reason }).inc_by(spans);
    }

    /// The bcrypt queue gauge (incremented when a hash is queued, decremented when it is done).
    pub fn bcrypt_queue(&self) -> &Gauge {
        &self.bcrypt_queue
    }

    /// The Prometheus text exposition of every series.
    pub fn render(&self) -> String {
        if let Some(pool) = self.pool.lock().ok().and_then(|p| p.clone()) {
            let status = pool.status();
            let set = |state, value: usize| {
                self.pool_connections.get_or_create(&PoolLabels { state }).set(value as i64);
            };
            set("max", status.max_size);
            set("open", status.size);
            set("idle", status.available);
            set("waiting", status.waiting);
        }
        let mut out = String::new();
        if let Ok(registry) = self.registry.lock() {
            let _ = prometheus_client::encoding::text::encode(&mut out, &registry);
        }
        out
    }
}

/// The canonical name of a gRPC status code (`NOT_FOUND`).
pub fn code_name(code: tonic::Code) -> &'static str {
    use tonic::Code::*;
    match code {
        Ok => "OK",
        Cancelled => "CANCELLED",
        Unknown => "UNKNOWN",
        InvalidArgument => "INVALID_ARGUMENT",
        DeadlineExceeded => "DEADLINE_EXCEEDED",
        NotFound => "NOT_FOUND",
        AlreadyExists => "ALREADY_EXISTS",
        PermissionDenied => "PERMISSION_DENIED",
        ResourceExhausted => "RESOURCE_EXHAUSTED",
        FailedPrecondition => "FAILED_PRECONDITION",
        Aborted => "ABORTED",
        OutOfRange => "OUT_OF_RANGE",
        Unimplemented => "UNIMPLEMENTED",
        Internal => "INTERNAL",
        Unavailable => "UNAVAILABLE",
        DataLoss => "DATA_LOSS",
        Unauthenticated => "UNAUTHENTICATED",
    }
}

/// Serves `GET /metrics` (and `GET /health`, always 200: the process is up) on `listener` until
/// `shutdown` fires.
pub async fn serve_admin(
    listener: tokio::net::TcpListener,
    metrics: Arc<Metrics>,
    shutdown: Shutdown,
) -> anyhow::Result<()> {
    use axum::routing::get;
    let app = axum::Router::new()
        .route(
            "/metrics",
            get(move || {
                let metrics = metrics.clone();
                async move {
                    (
                        [(
                            http::header::CONTENT_TYPE,
                            "application/openmetrics-text; version=1.0.0; charset=utf-8",
                        )],
                        metrics.render(),
                    )
                }
            }),
        )
        .route("/health", get(|| async { "ok" }));
    axum::serve(listener, app).with_graceful_shutdown(async move { shutdown.wait().await }).await?;
    Ok(())
}
