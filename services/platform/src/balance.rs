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
//! Request bodies are buffered (every Operant RPC has a unary request) so that they can be sent
//! again; response bodies, including server streams, pass through untouched.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::future::BoxFuture;
use http_body_util::{BodyExt, Full};
use tonic::body::Body;
use tonic::transport::Channel;
use tower::{Service, ServiceExt};

/// How long an endpoint whose connection failed is left out.
pub const EJECT_FOR: Duration = Duration::from_secs(1);

type BoxError = Box<dyn std::error::Error + Send + Sync>;

struct Member {
    url: String,
    channel: Channel,
    ejected_until: std::sync::Mutex<Option<Instant>>,
}

impl Member {
    fn ejected_until(&self) -> Option<Instant> {
        self.ejected_until.lock().ok().and_then(|e| *e).filter(|until| *until > Instant::now())
    }

    fn eject(&self, error: &BoxError) {
        if let Ok(mut until) = self.ejected_until.lock() {
            if until.is_none_or(|u| u <= Instant::now()) {
                tracing::warn!(endpoint = %self.url, %error, "endpoint ejected for {EJECT_FOR:?}");
            }
            *until = Some(Instant::now() + EJECT_FOR);
        }
    }

    fn restore(&self) {
        if let Ok(mut until) = self.ejected_until.lock()
            && until.take().is_some()
        {
            tracing::info!(endpoint = %self.url, "endpoint answers again");
        }
    }
}

/// A channel over several endpoints of one service. Cheap to clone.
#[derive(Clone)]
pub struct Balanced {
    members: Arc<Vec<Member>>,
    next: Arc<AtomicUsize>,
}

impl Balanced {
    /// `(url, lazily connecting channel)` pairs; at least one.
    pub fn new(endpoints: Vec<(String, Channel)>) -> Self {
        let members = endpoints
            .into_iter()
            .map(|(url, channel)| Member { url, channel, ejected_until: std::sync::Mutex::new(None) })
            .collect();
        Self { members: Arc::new(members), next: Arc::new(AtomicUsize::new(0)) }
    }

    /// The order in which this call tries the endpoints: live ones round-robin, then ejected
    /// ones by ejection expiry.
    fn order(&self) -> Vec<usize> {
        let n = self.members.len();
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        let (mut live, mut ejected): (Vec<usize>, Vec<(Instant, usize)>) = (Vec::new(), Vec::new());
        for i in (0..n).map(|k| (start + k) % n) {
            match self.members[i].ejected_until() {
                None => live.push(i),
                Some(until) => ejected.push((until, i)),
            }
        }
        ejected.sort();
        live.extend(ejected.into_iter().map(|(_, i)| i));
        live
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
        if e.to_string().contains("tcp connect error") {
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
        let this = self.clone();
        Box::pin(async move {
            let (parts, body) = request.into_parts();
            let body = body.collect().await.map_err(|status| Box::new(status) as BoxError)?.to_bytes();
            let idempotent = is_idempotent(parts.uri.path());
            let mut last_error: Option<BoxError> = None;
            for index in this.order() {
                let member = &this.members[index];
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
