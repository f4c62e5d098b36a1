//! Client-side balancing over a list of endpoints, with ejection and retries.
//!
//! Every client of a service (the gateway, work → tenancy, tenancy → auth and work) gets one
//! [`Balanced`] channel over all of that service's endpoints (`OPERANT_*_URL`, comma-separated).
//! Calls go round-robin to endpoints that are not ejected. An endpoint whose connection fails is
//! ejected for [`EJECT_FOR`] and the call moves on to the next endpoint:
//! - always when the request provably never reached the server (the connection could not be
//!   opened), since nothing can have happened there;
//! - for idempotent methods (`Get*`, `List*`, `Check*`, `Authorize`, ...) also when the
//!   connection broke mid-call.
//!
//! An answer from a server, even an error status, is never retried: the server is alive, and
//! the status is its answer. An ejected endpoint gets no callers' requests while another one is
//! live: a background probe (`grpc.health.v1.Health/Check`, marked with the [`PROBE_HEADER`]
//! metadata, at most [`PROBE_TIMEOUT`]) asks it every [`EJECT_FOR`], and only an answer brings
//! it back. So a replica that vanished without closing its connections (a killed container, a
//! lost host: no RST) costs a probe every second, not a caller's request stuck until a timeout.
//! When every endpoint is ejected they are tried anyway, least recently ejected first, so a lone
//! replica that comes back is found immediately.
//!
//! A connection to a peer that vanished is noticed by HTTP/2 keep-alive pings, sent every
//! [`KEEPALIVE_INTERVAL`] even on idle connections and answered within [`KEEPALIVE_TIMEOUT`]:
//! a call in flight on such a connection fails within about four seconds, and an idempotent one
//! moves to the next endpoint.
//!
//! An endpoint whose host is a name (not an IP address) is re-resolved every [`DNS_REFRESH`]
//! while the channel is in use, and every address it resolves to becomes a member of its own.
//! With a Kubernetes headless Service (`http://work-headless:9103`), DNS answers with the address
//! of every ready pod, so calls are balanced per request across all replicas, pods that appear
//! are picked up and pods that go away are dropped — instead of one HTTP/2 connection pinned to
//! whichever pod the name resolved to first. Until the first resolution (or while a name does
//! not resolve) the name itself is used, connected the ordinary way.
//!
//! Request bodies are buffered (every Operant RPC but one has a unary request) so that they can
//! be sent again; response bodies, including server streams, pass through untouched. A request
//! marked with the [`ClientStreaming`] extension (a stream of pings, `WatchStandingChanges`) is
//! sent as it is, to one endpoint, never retried: its body never ends, so it cannot be buffered.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::future::BoxFuture;
use http_body_util::{BodyExt, Full};
use tonic::body::Body;
use tonic::transport::{Channel, ClientTlsConfig, Endpoint};
use tower::{Service, ServiceExt};

mod member;
use member::Member;

/// How often an ejected endpoint is probed.
pub const EJECT_FOR: Duration = Duration::from_secs(1);

/// How long a probe of an ejected endpoint may take.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(1);

/// The metadata key (value `1`) on the health checks the balancer sends to ejected endpoints,
/// so that servers and tests can tell them from callers' requests.
pub const PROBE_HEADER: &str = "operant-probe";

/// HTTP/2 keep-alive ping interval of every channel (idle or not).
pub const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(2);

/// How long a keep-alive ping may stay unanswered before the connection is closed.
pub const KEEPALIVE_TIMEOUT: Duration = Duration::from_secs(2);

/// How often a host name is resolved again while its channel is in use.
pub const DNS_REFRESH: Duration = Duration::from_secs(5);

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Turns a host name into addresses. [`SystemResolver`] in production; tests substitute one.
pub trait Resolve: Send + Sync + 'static {
    fn resolve(&self, host: &str, port: u16) -> BoxFuture<'static, std::io::Result<Vec<SocketAddr>>>;
}

/// The operating system's resolver (`getaddrinfo`, through tokio).
pub struct SystemResolver;

impl Resolve for SystemResolver {
    fn resolve(&self, host: &str, port: u16) -> BoxFuture<'static, std::io::Result<Vec<SocketAddr>>> {
        let host = host.to_owned();
        Box::pin(async move { Ok(tokio::net::lookup_host((host.as_str(), port)).await?.collect()) })
    }
}

/// One configured endpoint: how to build a channel to it, or to one of its addresses.
pub struct Target {
    url: String,
    endpoint: Endpoint,
    tls: Option<ClientTlsConfig>,
    /// `(host, port)` when the host is a name to resolve.
    name: Option<(String, u16)>,
}

impl Target {
    /// `endpoint` was built from `url` (timeouts and TLS already set); `tls` is its TLS
    /// configuration, re-applied with the host name as the server name for resolved addresses.
    pub fn new(url: &str, endpoint: Endpoint, tls: Option<ClientTlsConfig>) -> Self {
        let uri = endpoint.uri();
        let name = uri.host().filter(|host| {
            let bare = host.trim_start_matches('[').trim_end_matches(']');
            bare.parse::<std::net::IpAddr>().is_err()
        });
        let default_port = if uri.scheme_str() == Some("https") { 443 } else { 80 };
        let name = name.map(|host| (host.to_owned(), uri.port_u16().unwrap_or(default_port)));
        Self { url: url.to_owned(), endpoint, tls, name }
    }

    /// A lazily connecting channel to one resolved address of this target; requests still
    /// carry the name in `:authority` and TLS still verifies the certificate for the name.
    fn channel_to(&self, addr: SocketAddr) -> Result<Channel, BoxError> {
        let uri = self.endpoint.uri();
        let scheme = uri.scheme_str().unwrap_or("http");
        let mut endpoint =
            configure(Endpoint::from_shared(format!("{scheme}://{addr}"))?).origin(uri.clone());
        if let (Some(tls), Some((host, _))) = (&self.tls, &self.name) {
            endpoint = endpoint.tls_config(tls.clone().domain_name(host.clone()))?;
        }
        Ok(endpoint.connect_lazy())
    }
}

/// The connection settings of every channel to a service: connect timeout, `TCP_NODELAY` and
/// HTTP/2 keep-alive pings, idle or not (so a peer that vanished without a FIN is noticed
/// within [`KEEPALIVE_INTERVAL`] + [`KEEPALIVE_TIMEOUT`]).
pub fn configure(endpoint: Endpoint) -> Endpoint {
    endpoint
        .connect_timeout(CONNECT_TIMEOUT)
        .tcp_nodelay(true)
        .http2_keep_alive_interval(KEEPALIVE_INTERVAL)
        .keep_alive_timeout(KEEPALIVE_TIMEOUT)
        .keep_alive_while_idle(true)
}

/// Connect timeout of every channel.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

struct Shared {
    targets: Vec<Target>,
    /// Per target, its current members (one for a fixed address or an unresolved name).
    members: RwLock<Vec<Vec<Arc<Member>>>>,
    next: AtomicUsize,
    resolver: Arc<dyn Resolve>,
    refresh: Duration,
    resolved_at: std::sync::Mutex<Option<Instant>>,
    resolving: AtomicBool,
}

/// A channel over several endpoints of one service. Cheap to clone.
#[derive(Clone)]
pub struct Balanced {
    shared: Arc<Shared>,
}

impl Balanced {
    /// Balances over `targets` (at least one), resolving names with the system resolver.
    pub fn new(targets: Vec<Target>) -> Self {
        Self::with_resolver(targets, Arc::new(SystemResolver), DNS_REFRESH)
    }

    /// [`Self::new`] with another resolver and refresh interval (tests).
    pub fn with_resolver(targets: Vec<Target>, resolver: Arc<dyn Resolve>, refresh: Duration) -> Self {
        let members = targets
            .iter()
            .map(|t| vec![Member::new(t.url.clone(), None, t.endpoint.connect_lazy())])
            .collect();
        Self {
            shared: Arc::new(Shared {
                targets,
                members: RwLock::new(members),
                next: AtomicUsize::new(0),
                resolver,
                refresh,
                resolved_at: std::sync::Mutex::new(None),
                resolving: AtomicBool::new(false),
            }),
        }
    }

    /// The addresses calls currently go to (`None` for a name not resolved yet), by target.
    pub fn addresses(&self) -> Vec<Vec<Option<SocketAddr>>> {
        self.shared
            .members
            .read()
            .map(|m| m.iter().map(|t| t.iter().map(|m| m.addr).collect()).collect())
            .unwrap_or_default()
    }

    /// Starts a background re-resolution when a name's addresses are older than the refresh
    /// interval (never more than one at a time; calls never wait for it).
    fn refresh_if_due(&self) {
        let shared = &self.shared;
        if shared.targets.iter().all(|t| t.name.is_none()) {
            return;
        }
        let due = shared
            .resolved_at
            .lock()
            .map(|at| at.is_none_or(|at| at.elapsed() >= shared.refresh))
            .unwrap_or(false);
        if !due || shared.resolving.swap(true, Ordering::AcqRel) {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            shared.resolving.store(false, Ordering::Release);
            return;
        };
        let this = self.clone();
        runtime.spawn(async move {
            this.resolve_now().await;
            this.shared.resolving.store(false, Ordering::Release);
        });
    }

    /// Resolves every named target now (calls do this by themselves every [`DNS_REFRESH`]).
    pub async fn resolve_now(&self) {
        self.resolve_all().await;
        if let Ok(mut at) = self.shared.resolved_at.lock() {
            *at = Some(Instant::now());
        }
    }

    /// Resolves every named target and swaps in its new member list, keeping the members
    /// (connections and ejection state) of addresses that are still there. A name that fails
    /// to resolve, or resolves to nothing, keeps its previous members.
    async fn resolve_all(&self) {
        let shared = &self.shared;
        for (index, target) in shared.targets.iter().enumerate() {
            let Some((host, port)) = &target.name else { continue };
            let resolved =
                tokio::time::timeout(Duration::from_secs(5), shared.resolver.resolve(host, *port)).await;
            let mut addrs = match resolved {
                Ok(Ok(addrs)) if !addrs.is_empty() => addrs,
                Ok(Ok(_)) => {
                    tracing::warn!(endpoint = %target.url, "name resolved to no address; keeping the last ones");
                    continue;
                }
                Ok(Err(error)) => {
                    tracing::warn!(endpoint = %target.url, %error, "cannot resolve; keeping the last addresses");
                    continue;
                }
                Err(_) => {
                    tracing::warn!(endpoint = %target.url, "resolution timed out; keeping the last addresses");
                    continue;
                }
            };
            addrs.sort();
            addrs.dedup();
            let current: HashMap<SocketAddr, Arc<Member>> = shared
                .members
                .read()
                .map(|m| m[index].iter().filter_map(|m| m.addr.map(|a| (a, m.clone()))).collect())
                .unwrap_or_default();
            if current.len() == addrs.len() && addrs.iter().all(|a| current.contains_key(a)) {
                continue;
            }
            let mut next = Vec::with_capacity(addrs.len());
            for addr in addrs {
                match current.get(&addr) {
                    Some(member) => next.push(member.clone()),
                    None => match target.channel_to(addr) {
                        Ok(channel) => next.push(Member::new(target.url.clone(), Some(addr), channel)),
                        Err(error) => tracing::warn!(endpoint = %target.url, %addr, %error, "bad address"),
                    },
                }
            }
            if next.is_empty() {
                continue;
            }
            tracing::info!(
                endpoint = %target.url,
                addresses = ?next.iter().filter_map(|m| m.addr).collect::<Vec<_>>(),
                "endpoint resolved"
            );
            if let Ok(mut members) = shared.members.write() {
                members[index] = next;
            }
        }
    }

    /// The members this call tries, in order: live ones round-robin; ejected ones, least
    /// recently ejected first, only when no member is live.
    fn order(&self) -> Vec<Arc<Member>> {
        let mut members: Vec<Arc<Member>> = match self.shared.members.read() {
            Ok(members) => members.iter().flatten().cloned().collect(),
            Err(_) => return Vec::new(),
        };
        if !members.is_empty() {
            let start = self.shared.next.fetch_add(1, Ordering::Relaxed) % members.len();
            members.rotate_left(start);
            // Stable, with each key read once: live members (`None`) keep their round-robin
            // order, ejected ones follow by ejection time.
            let mut keyed: Vec<(Option<Instant>, Arc<Member>)> =
                members.into_iter().map(|m| (m.ejected_at(), m)).collect();
            keyed.sort_by_key(|(at, _)| *at);
            if keyed.first().is_some_and(|(at, _)| at.is_none()) {
                keyed.retain(|(at, _)| at.is_none());
            }
            members = keyed.into_iter().map(|(_, m)| m).collect();
        }
        members
    }
}

/// A request extension: the request body is a stream (client or bidirectional streaming), to be
/// passed through unbuffered and never retried.
#[derive(Debug, Clone, Copy)]
pub struct ClientStreaming;

/// Methods that may run twice without harm.
fn is_idempotent(path: &str) -> bool {
    let method = path.rsplit('/').next().unwrap_or("");
    ["Get", "List", "Check", "Authorize", "Watch"].iter().any(|prefix| method.starts_with(prefix))
        || path.starts_with("/grpc.")
}

/// Whether the request provably never reached a server: the connection could not be opened.
fn never_sent(error: &BoxError) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error.as_ref());
    while let Some(e) = source {
        if let Some(io) = e.downcast_ref::<std::io::Error>()
            && matches!(
                io.kind(),
                std::io::ErrorKind::ConnectionRefused
                    | std::io::ErrorKind::AddrNotAvailable
                    | std::io::ErrorKind::TimedOut
                    | std::io::ErrorKind::HostUnreachable
                    | std::io::ErrorKind::NetworkUnreachable
            )
        {
            return true;
        }
        let text = e.to_string();
        if text.contains("tcp connect error") || text.contains("dns error") {
            return true;
        }
        source = e.source();
    }
    false
}

fn rebuild(parts: &http::request::Parts, body: &Bytes) -> http::Request<Body> {
    let mut request = http::Request::new(Body::new(Full::new(body.clone()).map_err(|never| match never {})));
    *request.method_mut() = parts.method.clone();
    *request.uri_mut() = parts.uri.clone();
    *request.version_mut() = parts.version;
    *request.headers_mut() = parts.headers.clone();
    request
}

impl Service<http::Request<Body>> for Balanced {
    type Response = http::Response<Body>;
    type Error = BoxError;
    type Future = BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        // Readiness is decided per endpoint inside `call`.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        self.refresh_if_due();
        let this = self.clone();
        if request.extensions().get::<ClientStreaming>().is_some() {
            return Box::pin(async move {
                let member = this.order().into_iter().next().ok_or("no endpoint configured")?;
                let mut channel = member.channel.clone();
                let attempt = async {
                    channel.ready().await.map_err(BoxError::from)?;
                    channel.call(request).await.map_err(BoxError::from)
                };
                match attempt.await {
                    Ok(response) => {
                        member.restore();
                        Ok(response)
                    }
                    Err(error) => {
                        member.eject(&error);
                        Err(error)
                    }
                }
            });
        }
        Box::pin(async move {
            let (parts, body) = request.into_parts();
            let body = body.collect().await.map_err(|status| Box::new(status) as BoxError)?.to_bytes();
            let idempotent = is_idempotent(parts.uri.path());
            let mut last_error: Option<BoxError> = None;
            for member in this.order() {
                let mut channel = member.channel.clone();
                let attempt = async {
                    channel.ready().await.map_err(BoxError::from)?;
                    channel.call(rebuild(&parts, &body)).await.map_err(BoxError::from)
                };
                match attempt.await {
                    Ok(response) => {
                        member.restore();
                        return Ok(response);
                    }
                    Err(error) => {
                        member.eject(&error);
                        let retry = idempotent || never_sent(&error);
                        last_error = Some(error);
                        if !retry {
                            break;
                        }
                    }
                }
            }
            Err(last_error.unwrap_or_else(|| "no endpoint configured".into()))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_are_idempotent_and_writes_are_not() {
        assert!(is_idempotent("/operant.work.v1.ProjectService/ListProjects"));
        assert!(is_idempotent("/operant.tenancy.v1.TenancyInternalService/Authorize"));
        assert!(is_idempotent("/grpc.health.v1.Health/Check"));
        assert!(!is_idempotent("/operant.work.v1.TaskService/CreateTask"));
        assert!(!is_idempotent("/operant.auth.v1.AuthService/RefreshToken"));
    }
}
