//! Shared test helpers: a gateway on its own (for the tests of the gateway's own behaviour,
//! which need no service) and small HTTP helpers.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use operant_gateway::AppState;
use operant_platform::config::Settings;
use operant_platform::shutdown::{Shutdown, ShutdownTrigger};
use serde_json::Value;
use tokio::net::TcpListener;

/// A gateway whose services are unreachable (a port nobody listens on). Enough for everything
/// the gateway answers by itself; calls that reach a service get 503.
pub struct LoneGateway {
    pub url: String,
    _trigger: ShutdownTrigger,
}

/// An address where nothing listens.
async fn dead_address() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    listener.local_addr().expect("addr")
}

pub async fn settings_without_services() -> Settings {
    let dead = format!("http://{}", dead_address().await);
    let mut settings = Settings::for_tests("postgres://unused@127.0.0.1:1/unused");
    settings.endpoints.auth = vec![dead.clone()];
    settings.endpoints.tenancy = vec![dead.clone()];
    settings.endpoints.work = vec![dead];
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

/// Asserts an error response: status, `error_code` and the body shape; returns the body.
pub async fn expect_error(response: reqwest::Response, status: u16, error_code: &str) -> Value {
    assert_eq!(response.status().as_u16(), status, "status of {}", response.url());
    let content_type =
        response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    assert!(content_type.starts_with("application/json"), "content type {content_type:?}");
    let body: Value = response.json().await.expect("JSON error body");
    assert_eq!(body["error_code"], error_code, "{body}");
    assert_eq!(body["status_code"], status, "{body}");
    assert!(body["detail"].is_string(), "{body}");
    body
}

/// The field named by the first violation of a 422 body.
pub fn violated_field(body: &Value) -> &str {
    body["errors"][0]["field"].as_str().unwrap_or("")
}

pub mod api;
