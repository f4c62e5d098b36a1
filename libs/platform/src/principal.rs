//! Who is calling, established once per request by [`CallContextLayer`] (an async tower layer
//! in front of every gRPC service, the "interceptor" of the design).
//!
//! For each request the layer assigns a request id, opens a tracing span, decides from the
//! method path what the call requires ([`Access`]) and verifies the credentials:
//! - end users present `authorization: Bearer <access token>`;
//! - services present `x-operant-service-token`, compared in constant time.
//!
//! Internal RPCs (services named `*InternalService`) refuse callers without the service token,
//! whatever else they present. The result is a [`Caller`] in the request extensions, read by
//! handlers with [`caller`].
//!
//! When the call ends the layer records its metrics and, with an OTLP exporter configured, its
//! SERVER span ([`crate::otlp`]).

use std::net::IpAddr;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures::future::BoxFuture;
use http::HeaderMap;
use subtle::ConstantTimeEq;
use tonic::Code;
use tracing::Instrument;
use uuid::Uuid;

use crate::clients::SERVICE_TOKEN_HEADER;
use crate::error::ApiError;
use crate::metrics::Metrics;
use crate::otlp::Exporter;
use crate::tokens::{TokenVerifier, UserPrincipal, unauthenticated};

/// Metadata key of the tenant.
pub const ORGANIZATION_HEADER: &str = "x-organization-id";
/// Metadata key of the request id (generated when absent).
pub const REQUEST_ID_HEADER: &str = "x-request-id";
/// Set by a trusted hop (the gateway): the end user's address.
pub const FORWARDED_FOR_HEADER: &str = "x-forwarded-for";
/// Set by a trusted hop (the gateway): the end user's user agent.
pub const FORWARDED_USER_AGENT_HEADER: &str = "x-forwarded-user-agent";

/// What a method requires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone; credentials are ignored (health, reflection, login, register, ...).
    Public,
    /// A valid access token when one is presented; none is fine too (logout).
    Optional,
    /// A valid access token.
    User,
    /// The service credential.
    Service,
}

/// Decides the access of a method path (`/package.Service/Method`).
pub type AccessPolicy = fn(&str) -> Access;

/// The default part of every policy: health and reflection are public, `*InternalService`
/// methods need the service credential, everything else an end user.
pub fn default_access(path: &str) -> Access {
    if path.starts_with("/grpc.health.") || path.starts_with("/grpc.reflection.") {
        Access::Public
    } else if path.split('/').nth(1).is_some_and(|service| service.ends_with("InternalService")) {
        Access::Service
    } else {
        Access::User
    }
}

/// Where the end user's request came from.
#[derive(Debug, Clone, Default)]
pub struct ClientInfo {
    pub ip: Option<IpAddr>,
    pub user_agent: String,
}

/// The established caller of one request.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The verified end user, if a valid access token was presented.
    pub user: Option<UserPrincipal>,
    /// Whether the service credential was presented.
    pub service: bool,
    pub client: ClientInfo,
    pub request_id: String,
}

impl Caller {
    /// The end user, or 401 `TOKEN_MISSING`.
    pub fn require_user(&self) -> Result<&UserPrincipal, ApiError> {
        self.user.as_ref().ok_or_else(|| unauthenticated("TOKEN_MISSING", "an access token is required"))
    }
}

/// The [`Caller`] of a request. Every request passes through [`CallContextLayer`], so a missing
/// one is a wiring bug, answered as 401 rather than a panic.
pub fn caller<T>(request: &tonic::Request<T>) -> Result<&Caller, ApiError> {
    request
        .extensions()
        .get::<Caller>()
        .ok_or_else(|| unauthenticated("TOKEN_MISSING", "no credentials were established"))
}

/// The tenant named by `x-organization-id`: 400 `ORGANIZATION_REQUIRED` when absent,
/// 400 `INVALID_ORGANIZATION_ID` when not a UUID.
pub fn organization_id<T>(request: &tonic::Request<T>) -> Result<Uuid, ApiError> {
    let raw = request.metadata().get(ORGANIZATION_HEADER).ok_or_else(|| {
        ApiError::new(
            Code::InvalidArgument,
            400,
            "ORGANIZATION_REQUIRED",
            "the X-Organization-Id header is required",
        )
    })?;
    raw.to_str().ok().and_then(|s| Uuid::parse_str(s.trim()).ok()).ok_or_else(|| {
        ApiError::new(
            Code::InvalidArgument,
            400,
            "INVALID_ORGANIZATION_ID",
            "the X-Organization-Id header is not a valid UUID",
        )
    })
}

/// Checks credentials of every request against an [`AccessPolicy`].
pub struct Authenticator {
    verifier: Arc<TokenVerifier>,
    service_token: String,
    policy: AccessPolicy,
}

impl Authenticator {
    pub fn new(verifier: Arc<TokenVerifier>, service_token: &str, policy: AccessPolicy) -> Self {
        Self { verifier, service_token: service_token.to_owned(), policy }
    }

    pub fn verifier(&self) -> &Arc<TokenVerifier> {
        &self.verifier
    }

    fn is_service(&self, headers: &HeaderMap) -> bool {
        headers
            .get(SERVICE_TOKEN_HEADER)
            .is_some_and(|v| bool::from(v.as_bytes().ct_eq(self.service_token.as_bytes())))
    }

    /// Establishes the caller of a request to `path` with `headers`.
    pub async fn authenticate(
        &self,
        path: &str,
        headers: &HeaderMap,
        peer: Option<IpAddr>,
        request_id: String,
    ) -> Result<Caller, ApiError> {
        let access = (self.policy)(path);
        let service = self.is_service(headers);
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim);
        let client = if service {
            ClientInfo {
                ip: header(FORWARDED_FOR_HEADER)
                    .and_then(|v| v.split(',').next())
                    .and_then(|ip| ip.trim().parse().ok())
                    .or(peer),
                user_agent: header(FORWARDED_USER_AGENT_HEADER)
                    .or(header("user-agent"))
                    .unwrap_or("")
                    .to_owned(),
            }
        } else {
            ClientInfo { ip: peer, user_agent: header("user-agent").unwrap_or("").to_owned() }
        };
        let mut caller = Caller { user: None, service, client, request_id };
        if access == Access::Public {
            return Ok(caller);
        }
        if access == Access::Service {
            if !service {
                return Err(ApiError::new(
                    Code::PermissionDenied,
                    403,
                    "SERVICE_ONLY",
                    "this method is only for Operant services",
                ));
            }
            return Ok(caller);
        }
        match header("authorization") {
            None | Some("") => {
                if access == Access::User {
                    return Err(unauthenticated("TOKEN_MISSING", "an access token is required"));
                }
            }
            Some(value) => {
                let token = value
                    .strip_prefix("Bearer ")
                    .or_else(|| value.strip_prefix("bearer "))
                    .map(str::trim)
                    .filter(|t| !t.is_empty())
                    .ok_or_else(|| {
                        unauthenticated(
                            "TOKEN_MALFORMED",
                            "the Authorization header must be `Bearer <token>`",
                        )
                    })?;
                caller.user = Some(self.verifier.verify(token).await?);
            }
        }
        Ok(caller)
    }
}

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
        let trace = crate::trace::TraceContext::continue_or_start(header(crate::trace::TRACEPARENT_HEADER));
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
