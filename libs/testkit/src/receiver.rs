//! A real HTTP webhook receiver on loopback (a port from [`free_port`]): it records every
//! request (the Standard Webhooks headers and the body) and answers the statuses a test
//! scripts, then its default status.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use tokio::sync::Notify;

use crate::free_port;

/// One request the receiver got.
#[derive(Debug, Clone)]
pub struct Received {
    /// `webhook-id`.
    pub id: String,
    /// `webhook-timestamp`.
    pub timestamp: i64,
    /// `webhook-signature`.
    pub signature: String,
    pub body: Vec<u8>,
    /// When it arrived.
    pub at: Instant,
    pub received_at: chrono::DateTime<chrono::Utc>,
}

impl Received {
    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }
}

#[derive(Default)]
struct Inner {
    received: Mutex<Vec<Received>>,
    script: Mutex<VecDeque<u16>>,
    default: Mutex<u16>,
    /// How long each answer waits after the request was recorded.
    delay: Mutex<Duration>,
    arrived: Notify,
}

/// The receiver; dropping it stops it.
pub struct Receiver {
    pub addr: SocketAddr,
    inner: Arc<Inner>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn receive(State(inner): State<Arc<Inner>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let status = {
        let scripted = inner.script.lock().expect("script").pop_front();
        scripted.unwrap_or(*inner.default.lock().expect("default"))
    };
    inner.received.lock().expect("received").push(Received {
        id: header("webhook-id"),
        timestamp: header("webhook-timestamp").parse().unwrap_or(0),
        signature: header("webhook-signature"),
        body: body.to_vec(),
        at: Instant::now(),
        received_at: chrono::Utc::now(),
    });
    inner.arrived.notify_waiters();
    let delay = *inner.delay.lock().expect("delay");
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    StatusCode::from_u16(status).unwrap_or(StatusCode::OK)
}

impl Receiver {
    /// A receiver answering 200 to everything at `http://127.0.0.1:<port>/hook`.
    pub async fn start() -> Receiver {
        let inner = Arc::new(Inner { default: Mutex::new(200), ..Default::default() });
        let mut listener = None;
        for _ in 0..5 {
            if let Ok(l) = tokio::net::TcpListener::bind(free_port().await).await {
                listener = Some(l);
                break;
            }
        }
        let listener = listener.expect("a free port for the receiver");
        let addr = listener.local_addr().expect("local addr");
        let app = axum::Router::new().fallback(receive).with_state(inner.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Receiver { addr, inner, task }
    }

    /// The URL to subscribe.
    pub fn url(&self) -> String {
        format!("http://{}/hook", self.addr)
    }

    /// The next answers, in order (then the default).
    pub fn script(&self, statuses: &[u16]) {
        self.inner.script.lock().expect("script").extend(statuses);
    }

    /// The answer once the script is used up.
    pub fn answer(&self, status: u16) {
        *self.inner.default.lock().expect("default") = status;
    }

    /// How long each answer waits after the request arrived (recorded at once).
    pub fn delay(&self, delay: Duration) {
        *self.inner.delay.lock().expect("delay") = delay;
    }

    /// Everything received so far.
    pub fn received(&self) -> Vec<Received> {
        self.inner.received.lock().expect("received").clone()
    }

    /// Waits until at least `n` requests arrived (panics after `within`).
    pub async fn wait_for(&self, n: usize, within: Duration) -> Vec<Received> {
        let deadline = Instant::now() + within;
        loop {
            let arrived = self.inner.arrived.notified();
            let got = self.received();
            if got.len() >= n {
                return got;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(!left.is_zero(), "the receiver got {} requests, not {n}, within {within:?}", got.len());
            let _ = tokio::time::timeout(left.min(Duration::from_millis(100)), arrived).await;
        }
    }
}
