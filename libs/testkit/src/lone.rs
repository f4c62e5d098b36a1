//! [`LoneGateway`]: the gateway on its own, for tests of what it answers by itself (docs,
//! errors, limits), with every service at an address where nothing listens.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use operant_gateway::AppState;
use operant_platform::config::Settings;
use operant_platform::shutdown::{Shutdown, ShutdownTrigger};
use tokio::net::TcpListener;

/// A gateway whose services are unreachable: calls that reach a service get 503.
pub struct LoneGateway {
    pub url: String,
    _trigger: ShutdownTrigger,
}

/// An address where nothing listens.
async fn dead_address() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    listener.local_addr().expect("addr")
}

/// Test settings whose services are unreachable and whose body limit is 64 KiB.
pub async fn settings_without_services() -> Settings {
    let dead = format!("http://{}", dead_address().await);
    let mut settings = Settings::for_tests("postgres://unused@127.0.0.1:1/unused");
    settings.endpoints.auth = vec![dead.clone()];
    settings.endpoints.tenancy = vec![dead.clone()];
    settings.endpoints.work = vec![dead.clone()];
    settings.endpoints.events = vec![dead];
    settings.max_body_bytes = 64 * 1024;
    settings
}

impl LoneGateway {
    pub async fn spawn() -> Self {
        let settings = Arc::new(settings_without_services().await);
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let (trigger, shutdown) = Shutdown::new();
        tokio::spawn(operant_gateway::run(settings, listener, shutdown));
        Self { url, _trigger: trigger }
    }

    /// Serves `routes` behind the gateway's middleware stack.
    pub async fn spawn_with_routes(routes: Router<AppState>) -> Self {
        let settings = Arc::new(settings_without_services().await);
        let state = AppState::new(settings).expect("state");
        Self::serve(operant_gateway::with_middleware(routes, state)).await
    }

    /// Serves a complete application.
    pub async fn serve(app: Router) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let (trigger, shutdown) = Shutdown::new();
        tokio::spawn(async move {
            axum::serve(listener, app).with_graceful_shutdown(async move { shutdown.wait().await }).await
        });
        Self { url, _trigger: trigger }
    }
}
