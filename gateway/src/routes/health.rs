//! `GET /health`: the gateway is up and each service answers grpc.health.v1 `SERVING` (which
//! the services tie to their database). 503 as soon as one is not serving or unreachable, so a
//! load balancer stops sending traffic that could only fail.

use std::collections::BTreeMap;
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use operant_platform::balance::Balanced;
use operant_platform::error::ErrorCode;
use serde::Serialize;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use utoipa::ToSchema;

use crate::state::AppState;

const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// Health of the gateway and its services. When unhealthy it also carries the error fields.
#[derive(Debug, Serialize, ToSchema)]
pub struct HealthResponse {
    /// `ok` or `unavailable`.
    #[schema(example = "ok")]
    pub status: &'static str,
    /// grpc.health.v1 status of each service (`SERVING`, `NOT_SERVING`, `UNREACHABLE`, ...).
    pub services: BTreeMap<&'static str, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_code: Option<u16>,
}

async fn check(channel: Balanced) -> String {
    let mut client = HealthClient::new(channel);
    let mut request = tonic::Request::new(HealthCheckRequest { service: String::new() });
    request.set_timeout(CHECK_TIMEOUT);
    match tokio::time::timeout(CHECK_TIMEOUT, client.check(request)).await {
        Ok(Ok(r)) => ServingStatus::try_from(r.into_inner().status)
            .map(|s| s.as_str_name().to_owned())
            .unwrap_or_else(|_| "UNKNOWN".to_owned()),
        Ok(Err(_)) | Err(_) => "UNREACHABLE".to_owned(),
    }
}

/// Health of the gateway and of each service.
#[utoipa::path(get, path = "/health", tag = "system",
    responses(
        (status = 200, description = "Every service is SERVING", body = HealthResponse),
        (status = 503, description = "`SERVICE_UNAVAILABLE`: a service is not serving", body = HealthResponse),
    ))]
pub async fn health(State(state): State<AppState>) -> (StatusCode, Json<HealthResponse>) {
    let up = state.upstream();
    let (auth, tenancy, work) =
        tokio::join!(check(up.auth.clone()), check(up.tenancy.clone()), check(up.work.clone()));
    let services = BTreeMap::from([("auth", auth), ("tenancy", tenancy), ("work", work)]);
    let down: Vec<&str> = services.iter().filter(|(_, s)| *s != "SERVING").map(|(name, _)| *name).collect();
    if down.is_empty() {
        let body =
            HealthResponse { status: "ok", services, detail: None, error_code: None, status_code: None };
        (StatusCode::OK, Json(body))
    } else {
        let body = HealthResponse {
            status: "unavailable",
            services,
            detail: Some(format!("not serving: {}", down.join(", "))),
            error_code: Some(ErrorCode::ServiceUnavailable.as_str()),
            status_code: Some(503),
        };
        (StatusCode::SERVICE_UNAVAILABLE, Json(body))
    }
}
