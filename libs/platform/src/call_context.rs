//! The call layer in front of every gRPC service ([`CallContextLayer`], an async tower layer,
//! the "interceptor" of the design).
//!
//! For each request it assigns a request id, continues the W3C trace ([`crate::trace`]), opens
//! the request's tracing span and has the [`Authenticator`] establish the [`Caller`]
//! (rejected calls are answered here). When the call ends it records its metrics and, with an
//! OTLP exporter configured, its SERVER span ([`crate::otlp`]).
//!
//! [`Caller`]: crate::principal::Caller

use std::sync::Arc;
use std::task::{Context, Poll};

use futures::future::BoxFuture;
use tracing::Instrument;
use uuid::Uuid;

use crate::headers::{ORGANIZATION_HEADER, REQUEST_ID_HEADER, TRACEPARENT_HEADER};
use crate::metrics::Metrics;
use crate::otlp::Exporter;
use crate::principal::Authenticator;

/// The tower layer that runs [`Authenticator::authenticate`] for every request and records its
/// outcome in the service's [`Metrics`] and, when enabled, as a span sent by the [`Exporter`].
#[derive(Clone)]
pub struct CallContextLayer {
    auth: Arc<Authenticator>,
    service_name: &'static str,
    metrics: Arc<Metrics>,
    exporter: Exporter,
}

impl CallContextLayer {
    pub fn new(
        auth: Arc<Authenticator>,
        service_name: &'static str,
        metrics: Arc<Metrics>,
        exporter: Exporter,
    ) -> Self {
        Self { auth, service_name, metrics, exporter }
    }
}

impl<S> tower::Layer<S> for CallContextLayer {
    type Service = CallContext<S>;

    fn layer(&self, inner: S) -> Self::Service {
        CallContext {
            inner,
            auth: self.auth.clone(),
            service_name: self.service_name,
            metrics: self.metrics.clone(),
            exporter: self.exporter.clone(),
        }
    }
}

/// See [`CallContextLayer`].
#[derive(Clone)]
pub struct CallContext<S> {
    inner: S,
    auth: Arc<Authenticator>,
    service_name: &'static str,
    metrics: Arc<Metrics>,
    exporter: Exporter,
}

impl<S, B> tower::Service<http::Request<B>> for CallContext<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<tonic::body::Body>>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<B>) -> Self::Future {
        // The ready service is the one to call; leave a fresh clone in its place.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let auth = self.auth.clone();
        let request_id = request
            .headers()
            .get(REQUEST_ID_HEADER)
            .and_then(|v| v.to_str().ok())
            .filter(|v| !v.is_empty() && v.len() <= 128)
            .map(str::to_owned)
            .unwrap_or_else(|| Uuid::new_v4().to_string());
        let path = request.uri().path().to_owned();
        let header = |name: &str| request.headers().get(name).and_then(|v| v.to_str().ok());
        let trace = crate::trace::TraceContext::continue_or_start(header(TRACEPARENT_HEADER));
        let organization_id = header(ORGANIZATION_HEADER).and_then(|v| Uuid::parse_str(v.trim()).ok());
        let span = tracing::info_span!(
            "rpc",
            service = self.service_name,
            method = %path,
            request_id = %request_id,
            trace_id = %trace.trace_id_hex(),
            user_id = tracing::field::Empty,
            organization_id = organization_id.map(tracing::field::display),
        );
        let context = crate::trace::RequestContext { request_id: request_id.clone(), trace };
        let peer = request
            .extensions()
            .get::<tonic::transport::server::TcpConnectInfo>()
            .and_then(|info| info.remote_addr())
            .map(|addr| addr.ip());
        let metrics = self.metrics.clone();
        // Health checks and reflection make no spans: probes would drown the real traffic.
        let exporter = if self.exporter.is_enabled() && trace.sampled && !is_probe(&path) {
            Some(self.exporter.clone())
        } else {
            None
        };
        Box::pin(
            async move {
                let started = std::time::Instant::now();
                let export = exporter.map(|exporter| (exporter, trace, std::time::SystemTime::now()));
                let header_value = http::HeaderValue::from_str(&request_id).ok();
                let result = match auth.authenticate(&path, request.headers(), peer, request_id).await {
                    Ok(caller) => {
                        if let Some(user) = &caller.user {
                            tracing::Span::current().record("user_id", tracing::field::display(user.user_id));
                        }
                        request.extensions_mut().insert(caller);
                        crate::trace::scope(context, inner.call(request)).await
                    }
                    Err(e) => Ok(tonic::Status::from(e).into_http()),
                };
                result.map(|response| {
                    let (mut parts, body) = response.into_parts();
                    if let Some(value) = header_value {
                        parts.headers.insert(REQUEST_ID_HEADER, value);
                    }
                    let recorder =
                        Recorder { metrics, path, started, span: tracing::Span::current(), export };
                    // A trailers-only answer (every error) carries its status in the headers.
                    let body = match grpc_code(&parts.headers) {
                        Some(code) => {
                            recorder.finish(code);
                            body
                        }
                        None => tonic::body::Body::new(StatusBody { inner: body, recorder: Some(recorder) }),
                    };
                    http::Response::from_parts(parts, body)
                })
            }
            .instrument(span),
        )
    }
}

fn grpc_code(headers: &http::HeaderMap) -> Option<tonic::Code> {
    headers
        .get("grpc-status")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<i32>().ok())
        .map(tonic::Code::from_i32)
}

fn is_probe(path: &str) -> bool {
    path.starts_with("/grpc.health.") || path.starts_with("/grpc.reflection.")
}

/// Records one finished call.
struct Recorder {
    metrics: Arc<Metrics>,
    path: String,
    started: std::time::Instant,
    span: tracing::Span,
    /// Set when the call's span is exported: the exporter, the call's span and its start.
    export: Option<(Exporter, crate::trace::TraceContext, std::time::SystemTime)>,
}

impl Recorder {
    fn finish(self, code: tonic::Code) {
        let elapsed = self.started.elapsed();
        self.metrics.record_grpc(&self.path, code, elapsed);
        if let Some((exporter, trace, start)) = self.export {
            exporter.record(grpc_span(&self.path, code, trace, start, start + elapsed));
        }
        let _entered = self.span.enter();
        tracing::debug!(elapsed_ms = elapsed.as_secs_f64() * 1e3, grpc_code = ?code, "rpc finished");
    }
}

/// The SERVER span of a gRPC call to `path` (`/operant.work.v1.ProjectService/ListProjects`),
/// with the OpenTelemetry RPC attributes; ERROR unless the code is OK.
fn grpc_span(
    path: &str,
    code: tonic::Code,
    trace: crate::trace::TraceContext,
    start: std::time::SystemTime,
    end: std::time::SystemTime,
) -> crate::otlp::FinishedSpan {
    use crate::otlp::{int, string};
    let name = path.trim_start_matches('/');
    let (service, method) = name.split_once('/').unwrap_or((name, ""));
    crate::otlp::FinishedSpan {
        trace,
        name: name.to_owned(),
        start,
        end,
        attributes: vec![
            string("rpc.system", "grpc"),
            string("rpc.service", service),
            string("rpc.method", method),
            int("rpc.grpc.status_code", code as i64),
        ],
        error: (code != tonic::Code::Ok).then(|| crate::metrics::code_name(code).to_owned()),
    }
}

pin_project_lite::pin_project! {
    /// A response body that reports the call's final status (from the trailers) when it ends;
    /// a body dropped before its trailers (the client went away) counts as CANCELLED.
    struct StatusBody {
        #[pin]
        inner: tonic::body::Body,
        recorder: Option<Recorder>,
    }

    impl PinnedDrop for StatusBody {
        fn drop(this: Pin<&mut Self>) {
            if let Some(recorder) = this.project().recorder.take() {
                recorder.finish(tonic::Code::Cancelled);
            }
        }
    }
}

impl http_body::Body for StatusBody {
    type Data = bytes::Bytes;
    type Error = tonic::Status;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        let this = self.project();
        let polled = this.inner.poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(code) = frame.trailers_ref().and_then(grpc_code)
                    && let Some(recorder) = this.recorder.take()
                {
                    recorder.finish(code);
                }
            }
            Poll::Ready(Some(Err(status))) => {
                if let Some(recorder) = this.recorder.take() {
                    recorder.finish(status.code());
                }
            }
            Poll::Ready(None) => {
                if let Some(recorder) = this.recorder.take() {
                    recorder.finish(tonic::Code::Unknown);
                }
            }
            Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}
