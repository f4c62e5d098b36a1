//! The optional OTLP/gRPC trace exporter, switched on by `OPERANT_OTLP_ENDPOINT`.
//!
//! Every server (each gRPC service and the REST gateway) records one SERVER span per request it
//! answers ([`FinishedSpan`]), with the trace and parent ids of [`crate::trace`], so that a
//! collector (Jaeger, Tempo, the OpenTelemetry Collector, ...) shows one tree per request:
//! client → gateway → work → tenancy → auth.
//!
//! - Unset endpoint: [`Exporter::disabled`], nothing is spawned, recording is one branch.
//! - Only sampled traces (W3C flag `01`) are exported; health checks and reflection are not
//!   recorded at all (see the callers).
//! - [`Exporter::record`] never blocks: spans go into a bounded queue ([`QUEUE_CAPACITY`]);
//!   when it is full the span is dropped and counted in
//!   `operant_otlp_spans_dropped_total{reason="queue_full"}` (with a rate-limited warning).
//! - One background task sends batches of up to [`MAX_BATCH`] spans, at least every
//!   [`FLUSH_INTERVAL`], as `ExportTraceServiceRequest`s over a lazily connected channel with a
//!   timeout. A failed export is logged at warn (rate-limited, never per span) and its batch
//!   dropped (`reason="export_failed"`): telemetry never slows down or fails a request.
//! - [`Exporter::shutdown`] sends what is still queued, bounded by [`SHUTDOWN_FLUSH`].
//!
//! The wire types are the vendored OTLP contracts in `operant_proto::otlp`; no OpenTelemetry SDK
//! is involved.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use operant_proto::otlp::collector::trace::v1::ExportTraceServiceRequest;
use operant_proto::otlp::collector::trace::v1::trace_service_client::TraceServiceClient;
use operant_proto::otlp::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use operant_proto::otlp::resource::v1::Resource;
use operant_proto::otlp::trace::v1::{ResourceSpans, ScopeSpans, Span, SpanFlags, span, status};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint};

use crate::config::Settings;
use crate::metrics::Metrics;
use crate::trace::TraceContext;

/// Spans waiting to be sent, per exporter; beyond it they are dropped.
pub const QUEUE_CAPACITY: usize = 4096;
/// Most spans in one export request.
pub const MAX_BATCH: usize = 512;
/// Longest time a recorded span waits before it is sent.
pub const FLUSH_INTERVAL: Duration = Duration::from_secs(1);
/// Longest wait for one export call.
pub const EXPORT_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest time [`Exporter::shutdown`] spends sending what is queued.
pub const SHUTDOWN_FLUSH: Duration = Duration::from_secs(2);
/// Least time between two warnings of the same kind.
const WARN_EVERY: Duration = Duration::from_secs(30);

/// A string attribute.
pub fn string(key: &str, value: impl Into<String>) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue { value: Some(any_value::Value::StringValue(value.into())) }),
        ..KeyValue::default()
    }
}

/// An integer attribute.
pub fn int(key: &str, value: i64) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue { value: Some(any_value::Value::IntValue(value)) }),
        ..KeyValue::default()
    }
}

/// One finished SERVER span.
#[derive(Debug, Clone)]
pub struct FinishedSpan {
    /// Trace id, span id and parent span id (and whether the trace is sampled).
    pub trace: TraceContext,
    /// `operant.work.v1.ProjectService/ListProjects`, `GET /api/v1/projects`.
    pub name: String,
    pub start: SystemTime,
    pub end: SystemTime,
    pub attributes: Vec<KeyValue>,
    /// `Some(message)`: the span's status is ERROR.
    pub error: Option<String>,
}

fn unix_nanos(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(0)
}

impl FinishedSpan {
    /// The OTLP form.
    pub fn into_proto(self) -> Span {
        // A parent always comes from another process (the caller's `traceparent`).
        let mut flags = u32::from(self.trace.sampled) | SpanFlags::ContextHasIsRemoteMask as u32;
        if self.trace.parent_span_id.is_some() {
            flags |= SpanFlags::ContextIsRemoteMask as u32;
        }
        let status = match self.error {
            Some(message) => {
                operant_proto::otlp::trace::v1::Status { message, code: status::StatusCode::Error as i32 }
            }
            None => operant_proto::otlp::trace::v1::Status::default(),
        };
        Span {
            trace_id: self.trace.trace_id.to_vec(),
            span_id: self.trace.span_id.to_vec(),
            parent_span_id: self.trace.parent_span_id.map(|id| id.to_vec()).unwrap_or_default(),
            flags,
            name: self.name,
            kind: span::SpanKind::Server as i32,
            start_time_unix_nano: unix_nanos(self.start),
            end_time_unix_nano: unix_nanos(self.end),
            attributes: self.attributes,
            status: Some(status),
            ..Span::default()
        }
    }
}

/// A handle on one server's exporter: cheap to clone, [`Exporter::disabled`] when no endpoint
/// is configured.
#[derive(Clone, Default)]
pub struct Exporter {
    shared: Option<Arc<Shared>>,
}

struct Shared {
    queue: mpsc::Sender<FinishedSpan>,
    metrics: Arc<Metrics>,
    /// Milliseconds since `epoch` of the last "queue full" warning (`u64::MAX`: never).
    last_full_warning: AtomicU64,
    epoch: Instant,
    stop: Mutex<Option<oneshot::Sender<()>>>,
    worker: Mutex<Option<JoinHandle<()>>>,
}

impl std::fmt::Debug for Exporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Exporter").field("enabled", &self.is_enabled()).finish()
    }
}

impl Exporter {
    /// No exporter: recording does nothing.
    pub fn disabled() -> Self {
        Self { shared: None }
    }

    /// The exporter of the server `service` (`auth`, `gateway`, ...) as configured by
    /// `OPERANT_OTLP_ENDPOINT`: disabled when unset. Its resource is
    /// `service.name=operant-<service>`; drops are counted in `metrics`. Must be called inside a
    /// tokio runtime when an endpoint is set (the sending task is spawned here).
    pub fn from_settings(settings: &Settings, service: &str, metrics: Arc<Metrics>) -> anyhow::Result<Self> {
        let Some(url) = &settings.otlp_endpoint else {
            return Ok(Self::disabled());
        };
        let mut endpoint = Endpoint::from_shared(url.clone())
            .with_context(|| format!("OPERANT_OTLP_ENDPOINT={url:?} is not a valid URL"))?
            .connect_timeout(Duration::from_secs(2))
            .timeout(EXPORT_TIMEOUT)
            .tcp_nodelay(true);
        if url.starts_with("https://") {
            let ca =
                settings.tls.ca.as_ref().context("OPERANT_OTLP_ENDPOINT over https needs OPERANT_TLS_CA")?;
            let pem = std::fs::read(ca).with_context(|| format!("read {}", ca.display()))?;
            endpoint =
                endpoint.tls_config(ClientTlsConfig::new().ca_certificate(Certificate::from_pem(pem)))?;
        }
        let exporter = Self::start(endpoint, &format!("operant-{service}"), metrics)?;
        tracing::info!(service, endpoint = %url, "exporting trace spans over OTLP");
        Ok(exporter)
    }

    /// An exporter sending to `endpoint` (connected lazily, on the first export).
    pub fn start(endpoint: Endpoint, service_name: &str, metrics: Arc<Metrics>) -> anyhow::Result<Self> {
        let runtime =
            tokio::runtime::Handle::try_current().context("the OTLP exporter needs a tokio runtime")?;
        let (queue, spans) = mpsc::channel(QUEUE_CAPACITY);
        let (stop, stopped) = oneshot::channel();
        let resource =
            Resource { attributes: vec![string("service.name", service_name)], ..Resource::default() };
        let worker =
            Worker { spans, resource, metrics: metrics.clone(), failed_since: None, last_warning: None };
        let handle = runtime.spawn(worker.run(endpoint, stopped));
        Ok(Self {
            shared: Some(Arc::new(Shared {
                queue,
                metrics,
                last_full_warning: AtomicU64::new(u64::MAX),
                epoch: Instant::now(),
                stop: Mutex::new(Some(stop)),
                worker: Mutex::new(Some(handle)),
            })),
        })
    }

    /// Whether spans are exported at all (build a [`FinishedSpan`] only then).
    pub fn is_enabled(&self) -> bool {
        self.shared.is_some()
    }

    /// Queues `span` for export, unless its trace is not sampled; never waits: with the queue
    /// full the span is dropped and counted.
    pub fn record(&self, span: FinishedSpan) {
        let Some(shared) = &self.shared else { return };
        if !span.trace.sampled {
            return;
        }
        match shared.queue.try_send(span) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(_)) => {
                shared.metrics.record_otlp_dropped("queue_full", 1);
                let now = shared.epoch.elapsed().as_millis() as u64;
                let last = shared.last_full_warning.load(Ordering::Relaxed);
                if (last == u64::MAX || now.saturating_sub(last) >= WARN_EVERY.as_millis() as u64)
                    && shared
                        .last_full_warning
                        .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                        .is_ok()
                {
                    tracing::warn!(
                        capacity = QUEUE_CAPACITY,
                        "OTLP export queue full: dropping spans (see operant_otlp_spans_dropped_total)"
                    );
                }
            }
            // The worker is gone (shut down): nothing to do.
            Err(mpsc::error::TrySendError::Closed(_)) => {}
        }
    }

    /// Sends what is queued (at most [`SHUTDOWN_FLUSH`]) and stops the sending task. Spans
    /// recorded afterwards are ignored.
    pub async fn shutdown(&self) {
        let Some(shared) = &self.shared else { return };
        if let Some(stop) = shared.stop.lock().ok().and_then(|mut s| s.take()) {
            let _ = stop.send(());
        }
        let worker = shared.worker.lock().ok().and_then(|mut w| w.take());
        if let Some(worker) = worker {
            // The worker bounds its own flush; this is a second guard.
            let _ = tokio::time::timeout(SHUTDOWN_FLUSH + Duration::from_millis(500), worker).await;
        }
    }
}

/// The sending task.
struct Worker {
    spans: mpsc::Receiver<FinishedSpan>,
    resource: Resource,
    metrics: Arc<Metrics>,
    /// Set while exports fail: when the first one failed.
    failed_since: Option<Instant>,
    last_warning: Option<Instant>,
}

impl Worker {
    async fn run(mut self, endpoint: Endpoint, mut stop: oneshot::Receiver<()>) {
        let mut client = TraceServiceClient::new(endpoint.connect_lazy());
        let mut batch = Vec::with_capacity(MAX_BATCH);
        let mut tick = tokio::time::interval(FLUSH_INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                span = self.spans.recv() => match span {
                    Some(span) => {
                        batch.push(span);
                        if batch.len() >= MAX_BATCH {
                            self.export(&mut client, std::mem::take(&mut batch)).await;
                        }
                    }
                    // Every handle is gone.
                    None => break,
                },
                _ = tick.tick() => {
                    if !batch.is_empty() {
                        self.export(&mut client, std::mem::take(&mut batch)).await;
                    }
                }
                _ = &mut stop => break,
            }
        }
        // Shutting down: whatever is still queued, within the bound.
        self.spans.close();
        let flush = async {
            while let Some(span) = self.spans.recv().await {
                batch.push(span);
                if batch.len() >= MAX_BATCH {
                    self.export(&mut client, std::mem::take(&mut batch)).await;
                }
            }
            if !batch.is_empty() {
                self.export(&mut client, std::mem::take(&mut batch)).await;
            }
        };
        if tokio::time::timeout(SHUTDOWN_FLUSH, flush).await.is_err() {
            tracing::warn!("OTLP exporter: flush at shutdown timed out; remaining spans dropped");
        }
    }

    async fn export(&mut self, client: &mut TraceServiceClient<Channel>, batch: Vec<FinishedSpan>) {
        let count = batch.len() as u64;
        let request = ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                resource: Some(self.resource.clone()),
                scope_spans: vec![ScopeSpans {
                    scope: Some(InstrumentationScope {
                        name: "operant".into(),
                        version: env!("CARGO_PKG_VERSION").into(),
                        ..InstrumentationScope::default()
                    }),
                    spans: batch.into_iter().map(FinishedSpan::into_proto).collect(),
                    ..ScopeSpans::default()
                }],
                ..ResourceSpans::default()
            }],
        };
        let mut request = tonic::Request::new(request);
        request.set_timeout(EXPORT_TIMEOUT);
        match tokio::time::timeout(EXPORT_TIMEOUT, client.export(request)).await {
            Ok(Ok(response)) => {
                if let Some(since) = self.failed_since.take() {
                    tracing::info!(failing_for_s = since.elapsed().as_secs(), "OTLP export works again");
                }
                let rejected = response.into_inner().partial_success.map_or(0, |p| p.rejected_spans);
                if rejected > 0 {
                    self.metrics.record_otlp_dropped("rejected", rejected as u64);
                    self.warn(|| tracing::warn!(rejected, "OTLP collector rejected spans"));
                }
            }
            Ok(Err(status)) => self.failed(count, &status.to_string()),
            Err(_) => self.failed(count, "timed out"),
        }
    }

    fn failed(&mut self, spans: u64, error: &str) {
        self.metrics.record_otlp_dropped("export_failed", spans);
        self.failed_since.get_or_insert_with(Instant::now);
        self.warn(|| tracing::warn!(spans, error, "OTLP export failed; batch dropped"));
    }

    /// Runs `log` unless a warning was logged in the last [`WARN_EVERY`].
    fn warn(&mut self, log: impl FnOnce()) {
        if self.last_warning.is_none_or(|last| last.elapsed() >= WARN_EVERY) {
            self.last_warning = Some(Instant::now());
            log();
        }
    }
}

#[cfg(test)]
mod tests {
    use operant_proto::otlp::collector::trace::v1::ExportTraceServiceResponse;
    use operant_proto::otlp::collector::trace::v1::trace_service_server::{TraceService, TraceServiceServer};

    use super::*;

    fn span(trace: TraceContext) -> FinishedSpan {
        let now = SystemTime::now();
        FinishedSpan {
            trace,
            name: "test".into(),
            start: now,
            end: now,
            attributes: vec![int("n", 1)],
            error: Some("INTERNAL".into()),
        }
    }

    #[test]
    fn converts_ids_kind_flags_and_status() {
        let trace =
            TraceContext::continue_or_start(Some("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"));
        let proto = span(trace).into_proto();
        assert_eq!(proto.trace_id, trace.trace_id.to_vec());
        assert_eq!(proto.span_id, trace.span_id.to_vec());
        assert_eq!(proto.parent_span_id, vec![0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7]);
        assert_eq!(proto.kind, span::SpanKind::Server as i32);
        assert_eq!(proto.flags, 0x301);
        let status = proto.status.expect("status");
        assert_eq!(status.code, status::StatusCode::Error as i32);
        assert_eq!(status.message, "INTERNAL");
        let root = span(TraceContext::new_root()).into_proto();
        assert!(root.parent_span_id.is_empty());
        assert_eq!(root.flags, 0x101);
    }

    /// A collector that hands every export request to the test.
    struct Collector(mpsc::UnboundedSender<ExportTraceServiceRequest>);

    #[tonic::async_trait]
    impl TraceService for Collector {
        async fn export(
            &self,
            request: tonic::Request<ExportTraceServiceRequest>,
        ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
            let _ = self.0.send(request.into_inner());
            Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
        }
    }

    #[tokio::test]
    async fn exports_sampled_spans_only_and_flushes_at_shutdown() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (tx, mut received) = mpsc::unbounded_channel();
        let server = tokio::spawn(
            tonic::transport::Server::builder()
                .add_service(TraceServiceServer::new(Collector(tx)))
                .serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener)),
        );
        let endpoint = Endpoint::from_shared(format!("http://{addr}")).expect("endpoint");
        let metrics = Metrics::new("test");
        let exporter = Exporter::start(endpoint, "operant-test", metrics.clone()).expect("start");
        let unsampled =
            TraceContext::continue_or_start(Some("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00"));
        let sampled =
            TraceContext::continue_or_start(Some("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"));
        exporter.record(span(unsampled));
        exporter.record(span(sampled));
        // Well within the flush interval: what arrives is sent by the shutdown flush.
        exporter.shutdown().await;
        server.abort();

        let mut spans = Vec::new();
        while let Ok(request) = received.try_recv() {
            for resource_spans in request.resource_spans {
                let resource = resource_spans.resource.expect("resource");
                assert_eq!(resource.attributes, vec![string("service.name", "operant-test")]);
                spans.extend(resource_spans.scope_spans.into_iter().flat_map(|s| s.spans));
            }
        }
        assert_eq!(spans.len(), 1, "exactly the sampled span is exported: {spans:?}");
        assert_eq!(spans[0].trace_id, sampled.trace_id.to_vec());
        assert!(!metrics.render().contains("otlp_spans_dropped_total{"), "{}", metrics.render());

        // After shutdown, and when disabled, recording is a no-op.
        exporter.record(span(sampled));
        let disabled = Exporter::disabled();
        assert!(!disabled.is_enabled());
        disabled.record(span(sampled));
    }

    #[tokio::test]
    async fn a_failed_export_is_counted_not_retried() {
        // Nothing listens on this port (bound, then released).
        let addr = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("addr");
        let endpoint = Endpoint::from_shared(format!("http://{addr}")).expect("endpoint");
        let metrics = Metrics::new("test");
        let exporter = Exporter::start(endpoint, "operant-test", metrics.clone()).expect("start");
        exporter.record(span(TraceContext::new_root()));
        exporter.shutdown().await;
        let rendered = metrics.render();
        assert!(
            rendered.contains(r#"operant_otlp_spans_dropped_total{service="test",reason="export_failed"} 1"#),
            "{rendered}"
        );
    }
}
