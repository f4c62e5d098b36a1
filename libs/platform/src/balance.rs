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
//! the status is its answer. After [`EJECT_FOR`] an ejected endpoint gets one call again; if it
//! is back it rejoins at once. When every endpoint is ejected the least recently ejected one is
//! tried anyway, so a lone replica that comes back is found immediately.
//!
//! An endpoint whose host is a name (not an IP address) is re-resolved every [`DNS_REFRESH`]
//! while the channel is in use, and every address it resolves to becomes a member of its own.
//! With a Kubernetes headless Service (`http://work-headless:9103`), DNS answers with the address
//! of every ready pod, so calls are balanced per request across all replicas, pods that appear
//! are picked up and pods that go away are dropped — instead of one HTTP/2 connection pinned to
//! whichever pod the name resolved to first. Until the first resolution (or while a name does
//! not resolve) the name itself is used, connected the ordinary way.
//!
//! Request bodies are buffered (every Operant RPC has a unary request) so that they can be sent
//! again; response bodies, including server streams, pass through untouched.

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

/// How long an endpoint whose connection failed is left out.
pub const EJECT_FOR: Duration = Duration::from_secs(1);

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
/// HTTP/2 keep-alive pings (so a peer that vanished without a FIN is noticed).
pub fn configure(endpoint: Endpoint) -> Endpoint {
    endpoint
        .connect_timeout(CONNECT_TIMEOUT)
        .tcp_nodelay(true)
        .http2_keep_alive_interval(Duration::from_secs(20))
        .keep_alive_timeout(Duration::from_secs(10))
}

/// Connect timeout of every channel.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

struct Member {
    /// The configured URL, and the resolved address when it came from a name.
    url: String,
    addr: Option<SocketAddr>,
    channel: Channel,
    ejected_until: std::sync::Mutex<Option<Instant>>,
}

impl Member {
    fn new(url: String, addr: Option<SocketAddr>, channel: Channel) -> Arc<Self> {
        Arc::new(Self { url, addr, channel, ejected_until: std::sync::Mutex::new(None) })
    }

    fn label(&self) -> String {
        match self.addr {
            Some(addr) => format!("{} ({addr})", self.url),
            None => self.url.clone(),
        }
    }

    fn ejected_until(&self) -> Option<Instant> {
        self.ejected_until.lock().ok().and_then(|e| *e).filter(|until| *until > Instant::now())
    }

    fn eject(&self, error: &BoxError) {
        if let Ok(mut until) = self.ejected_until.lock() {
            if until.is_none_or(|u| u <= Instant::now()) {
                tracing::warn!(endpoint = %self.label(), %error, "endpoint ejected for {EJECT_FOR:?}");
            }
            *until = Some(Instant::now() + EJECT_FOR);
        }
    }

    fn restore(&self) {
        if let Ok(mut until) = self.ejected_until.lock()
            && until.take().is_some()
        {
            tracing::info!(endpoint = %self.label(), "endpoint answers again");
        }
    }
}

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

    /// The members this call tries, in order: live ones round-robin, then ejected ones by
    /// ejection expiry.
    fn order(&self) -> Vec<Arc<Member>> {
        let mut members: Vec<Arc<Member>> = match self.shared.members.read() {
            Ok(members) => members.iter().flatten().cloned().collect(),
            Err(_) => return Vec::new(),
        };
        if !members.is_empty() {
            let start = self.shared.next.fetch_add(1, Ordering::Relaxed) % members.len();
            members.rotate_left(start);
            // Stable, with each key read once: live members (`None`) keep their round-robin
            // order, ejected ones follow by expiry.
            members.sort_by_cached_key(|m| m.ejected_until());
        }
        members
    }
}

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
