//! One member of a balanced channel (an endpoint, or one address a name resolved to): its
//! channel, whether it is ejected, and the background probe that brings it back.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use tonic::transport::Channel;

use super::{BoxError, EJECT_FOR, PROBE_HEADER, PROBE_TIMEOUT};

pub(super) struct Member {
    /// The configured URL, and the resolved address when it came from a name.
    url: String,
    pub(super) addr: Option<SocketAddr>,
    pub(super) channel: Channel,
    /// When it was ejected; `None` while it is live.
    ejected_at: std::sync::Mutex<Option<Instant>>,
    /// Whether a probe task is running for it.
    probing: AtomicBool,
}

impl Member {
    pub(super) fn new(url: String, addr: Option<SocketAddr>, channel: Channel) -> Arc<Self> {
        Arc::new(Self {
            url,
            addr,
            channel,
            ejected_at: std::sync::Mutex::new(None),
            probing: AtomicBool::new(false),
        })
    }

    fn label(&self) -> String {
        match self.addr {
            Some(addr) => format!("{} ({addr})", self.url),
            None => self.url.clone(),
        }
    }

    pub(super) fn ejected_at(&self) -> Option<Instant> {
        self.ejected_at.lock().ok().and_then(|e| *e)
    }

    /// Leaves it out of callers' requests (while another member is live) until a probe gets an
    /// answer; starts that probe.
    pub(super) fn eject(self: &Arc<Self>, error: &BoxError) {
        if let Ok(mut at) = self.ejected_at.lock() {
            if at.is_none() {
                tracing::warn!(endpoint = %self.label(), %error, "endpoint ejected until it answers a health check");
            }
            *at = Some(Instant::now());
        }
        self.start_probe();
    }

    pub(super) fn restore(&self) {
        if let Ok(mut at) = self.ejected_at.lock()
            && at.take().is_some()
        {
            tracing::info!(endpoint = %self.label(), "endpoint answers again");
        }
    }

    /// Probes the member every [`EJECT_FOR`] until it answers (any gRPC answer: the server is
    /// there) or it is gone (dropped by a re-resolution, or the channel with it). One probe task
    /// per member at a time; it holds only a weak reference.
    fn start_probe(self: &Arc<Self>) {
        if self.probing.swap(true, Ordering::AcqRel) {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            self.probing.store(false, Ordering::Release);
            return;
        };
        let member = Arc::downgrade(self);
        runtime.spawn(async move {
            loop {
                tokio::time::sleep(EJECT_FOR).await;
                let Some(this) = member.upgrade() else { return };
                if this.ejected_at().is_none() {
                    this.probing.store(false, Ordering::Release);
                    return;
                }
                let channel = this.channel.clone();
                drop(this);
                let answered = tokio::time::timeout(PROBE_TIMEOUT, probe(channel)).await.unwrap_or(false);
                let Some(this) = member.upgrade() else { return };
                if answered {
                    this.restore();
                    this.probing.store(false, Ordering::Release);
                    return;
                }
            }
        });
    }
}

/// One health check on `channel`; true when a server answered (whatever its status).
async fn probe(channel: Channel) -> bool {
    let mut client = tonic_health::pb::health_client::HealthClient::new(channel);
    let mut request = tonic::Request::new(tonic_health::pb::HealthCheckRequest { service: String::new() });
    request.metadata_mut().insert(PROBE_HEADER, tonic::metadata::MetadataValue::from_static("1"));
    match client.check(request).await {
        Ok(_) => true,
        // A status the server sent (NOT_FOUND, UNIMPLEMENTED, ...) is an answer; a transport
        // failure is reported by tonic as UNAVAILABLE/UNKNOWN with the error as its source.
        Err(status) => std::error::Error::source(&status).is_none(),
    }
}
