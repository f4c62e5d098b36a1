//! The auth service (stub: being written).

use std::sync::Arc;

use operant_platform::config::Settings;
use operant_platform::grpc::Shutdown;
use tokio::net::TcpListener;

/// Serves the auth gRPC services on `listener` until `shutdown` fires.
pub async fn run(settings: Arc<Settings>, listener: TcpListener, shutdown: Shutdown) -> anyhow::Result<()> {
    let _ = (settings, listener);
    shutdown.wait().await;
    Ok(())
}
