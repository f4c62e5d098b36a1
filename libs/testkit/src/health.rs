//! grpc.health.v1 of a server: ask it, or wait until it reports a status.

use std::net::SocketAddr;
use std::time::Duration;

use tonic::transport::Endpoint;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

pub const SERVING: i32 = 1;
pub const NOT_SERVING: i32 = 2;

/// Overall grpc.health.v1 status of a server, `None` when it cannot be asked.
pub async fn health(addr: SocketAddr) -> Option<i32> {
    let endpoint = Endpoint::from_shared(format!("http://{addr}"))
        .ok()?
        .connect_timeout(Duration::from_secs(1))
        .timeout(Duration::from_secs(2));
    let channel = endpoint.connect().await.ok()?;
    let r = HealthClient::new(channel).check(HealthCheckRequest { service: String::new() }).await.ok()?;
    Some(r.into_inner().status)
}

/// Waits until `addr`'s health is `want`; returns how long it took.
///
/// # Panics
/// When it is not `want` within `within`.
pub async fn wait_health(addr: SocketAddr, want: i32, within: Duration) -> Duration {
    let started = tokio::time::Instant::now();
    loop {
        if health(addr).await == Some(want) {
            return started.elapsed();
        }
        assert!(started.elapsed() < within, "{addr}: health did not become {want} within {within:?}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}
