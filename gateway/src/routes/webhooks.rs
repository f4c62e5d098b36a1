//! `/api/v1/organizations/{id}/webhooks*` → `operant.events.v1.WebhookService` (OWNER or
//! ADMIN; create, update and rotate also need the PRO feature `webhooks`).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use operant_proto::events::v1 as pb;
use operant_proto::events::v1::webhook_service_client::WebhookServiceClient;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{not_null, required};
use crate::error::{ApiErrorBody, HttpResult};
use crate::extract::{JsonBody, PathParams, QueryParams};
use crate::models::webhooks::{
    CreateWebhookBody, UpdateWebhookBody, WebhookDeliveryResponse, WebhookResponse, WebhookWithSecretResponse,
};
use crate::openapi::{TenantErrors, TenantJsonErrors, TenantListErrors};
use crate::pagination::{Page, PageParams};
use crate::state::AppState;
use crate::upstream::Forward;

/// This module's routes, each with its OpenAPI operation.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(get_one, update, delete_one))
        .routes(routes!(rotate_secret))
        .routes(routes!(deliveries))
}

fn client(state: &AppState) -> WebhookServiceClient<operant_platform::balance::Balanced> {
    WebhookServiceClient::new(state.upstream().events.clone())
}

fn ids(path: &PathParams) -> HttpResult<(String, String)> {
    Ok((path.uuid("id")?.to_string(), path.uuid("webhook_id")?.to_string()))
}

/// Creates a webhook endpoint (ADMIN+, PRO plan, at most 10 per organization). Every event of
/// the listed types is then POSTed to `url`, signed as the Standard Webhooks specification says
/// with the `secret` of the answer, which is shown this once.
#[utoipa::path(post, path = "/api/v1/organizations/{id}/webhooks", tag = "webhooks", security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "Organization id")), request_body = CreateWebhookBody,
    responses(
        TenantJsonErrors,
        (status = 201, description = "The endpoint with its signing secret", body = WebhookWithSecretResponse),
        (status = 403, description = "`NOT_A_MEMBER` / `INSUFFICIENT_ROLE` / `FEATURE_NOT_IN_PLAN` (webhooks are a PRO feature)", body = ApiErrorBody),
        (status = 409, description = "`WEBHOOK_LIMIT_REACHED`: the organization has 10 endpoints", body = ApiErrorBody),
    ))]
pub async fn create(
    State(state): State<AppState>,
    fwd: Forward,
    path: PathParams,
    body: JsonBody<CreateWebhookBody>,
) -> HttpResult<(StatusCode, Json<WebhookWithSecretResponse>)> {
    let organization_id = path.uuid("id")?.to_string();
    not_null(body.has("description"), &body.value.description, "description")?;
    let b = body.value;
    let request = pb::CreateWebhookRequest {
        organization_id,
        url: b.url,
        event_types: b.event_types,
        description: b.description.unwrap_or_default(),
    };
    let response =
        state.upstream().call(client(&state).create_webhook(fwd.request(state.upstream(), request))).await?;
    let webhook = required(response.webhook, "webhook")?.into();
    Ok((StatusCode::CREATED, Json(WebhookWithSecretResponse { webhook, secret: response.secret })))
}

/// The organization's webhook endpoints, oldest first, without secrets (ADMIN+).
#[utoipa::path(get, path = "/api/v1/organizations/{id}/webhooks", tag = "webhooks", security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "Organization id"), PageParams),
    responses(
        TenantListErrors,
        (status = 200, description = "One page of endpoints", body = Page<WebhookResponse>),
        (status = 403, description = "`NOT_A_MEMBER` / `INSUFFICIENT_ROLE`", body = ApiErrorBody),
    ))]
pub async fn list(
    State(state): State<AppState>,
    fwd: Forward,
    path: PathParams,
    query: QueryParams,
) -> HttpResult<Json<Page<WebhookResponse>>> {
    let organization_id = path.uuid("id")?.to_string();
    let page = PageParams::from_query(&query)?.to_proto();
    let request = pb::ListWebhooksRequest { organization_id, page: Some(page.clone()) };
    let response =
        state.upstream().call(client(&state).list_webhooks(fwd.request(state.upstream(), request))).await?;
    Ok(Json(Page::new(response.webhooks, response.page, &page)))
}

/// One webhook endpoint, without its secret (ADMIN+).
#[utoipa::path(get, path = "/api/v1/organizations/{id}/webhooks/{webhook_id}", tag = "webhooks",
    security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "Organization id"), ("webhook_id" = uuid::Uuid, Path, description = "Webhook endpoint id")),
    responses(
        TenantErrors,
        (status = 200, description = "The endpoint", body = WebhookResponse),
        (status = 403, description = "`NOT_A_MEMBER` / `INSUFFICIENT_ROLE`", body = ApiErrorBody),
        (status = 404, description = "`WEBHOOK_NOT_FOUND`", body = ApiErrorBody),
    ))]
pub async fn get_one(
    State(state): State<AppState>,
    fwd: Forward,
    path: PathParams,
) -> HttpResult<Json<WebhookResponse>> {
    let (organization_id, webhook_id) = ids(&path)?;
    let request = pb::GetWebhookRequest { organization_id, webhook_id };
    let response =
        state.upstream().call(client(&state).get_webhook(fwd.request(state.upstream(), request))).await?;
    Ok(Json(required(response.webhook, "webhook")?.into()))
}

/// Changes the fields present in the body (ADMIN+, PRO plan). `enabled: true` turns an
/// endpoint the service disabled back on.
#[utoipa::path(patch, path = "/api/v1/organizations/{id}/webhooks/{webhook_id}", tag = "webhooks",
    security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "Organization id"), ("webhook_id" = uuid::Uuid, Path, description = "Webhook endpoint id")),
    request_body = UpdateWebhookBody,
    responses(
        TenantJsonErrors,
        (status = 200, description = "The endpoint", body = WebhookResponse),
        (status = 403, description = "`NOT_A_MEMBER` / `INSUFFICIENT_ROLE` / `FEATURE_NOT_IN_PLAN`", body = ApiErrorBody),
        (status = 404, description = "`WEBHOOK_NOT_FOUND`", body = ApiErrorBody),
    ))]
pub async fn update(
    State(state): State<AppState>,
    fwd: Forward,
    path: PathParams,
    body: JsonBody<UpdateWebhookBody>,
) -> HttpResult<Json<WebhookResponse>> {
    let (organization_id, webhook_id) = ids(&path)?;
    not_null(body.has("url"), &body.value.url, "url")?;
    not_null(body.has("event_types"), &body.value.event_types, "event_types")?;
    not_null(body.has("enabled"), &body.value.enabled, "enabled")?;
    not_null(body.has("description"), &body.value.description, "description")?;
    let paths = ["url", "event_types", "enabled", "description"]
        .into_iter()
        .filter(|k| body.has(k))
        .map(str::to_owned)
        .collect();
    let b = body.value;
    let request = pb::UpdateWebhookRequest {
        organization_id,
        webhook_id,
        url: b.url.unwrap_or_default(),
        event_types: b.event_types.unwrap_or_default(),
        enabled: b.enabled.unwrap_or_default(),
        description: b.description.unwrap_or_default(),
        update_mask: Some(prost_types::FieldMask { paths }),
    };
    let response =
        state.upstream().call(client(&state).update_webhook(fwd.request(state.upstream(), request))).await?;
    Ok(Json(required(response.webhook, "webhook")?.into()))
}

/// Deletes a webhook endpoint and its delivery log (ADMIN+; any plan).
#[utoipa::path(delete, path = "/api/v1/organizations/{id}/webhooks/{webhook_id}", tag = "webhooks",
    security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "Organization id"), ("webhook_id" = uuid::Uuid, Path, description = "Webhook endpoint id")),
    responses(
        TenantErrors,
        (status = 204, description = "Deleted"),
        (status = 403, description = "`NOT_A_MEMBER` / `INSUFFICIENT_ROLE`", body = ApiErrorBody),
        (status = 404, description = "`WEBHOOK_NOT_FOUND`", body = ApiErrorBody),
    ))]
pub async fn delete_one(
    State(state): State<AppState>,
    fwd: Forward,
    path: PathParams,
) -> HttpResult<StatusCode> {
    let (organization_id, webhook_id) = ids(&path)?;
    let request = pb::DeleteWebhookRequest { organization_id, webhook_id };
    state.upstream().call(client(&state).delete_webhook(fwd.request(state.upstream(), request))).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A new signing secret, shown this once (ADMIN+, PRO plan). The previous secret keeps
/// signing alongside for 24 hours: deliveries carry both signatures until then.
#[utoipa::path(post, path = "/api/v1/organizations/{id}/webhooks/{webhook_id}/rotate-secret", tag = "webhooks",
    security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "Organization id"), ("webhook_id" = uuid::Uuid, Path, description = "Webhook endpoint id")),
    responses(
        TenantErrors,
        (status = 200, description = "The endpoint with its new signing secret", body = WebhookWithSecretResponse),
        (status = 403, description = "`NOT_A_MEMBER` / `INSUFFICIENT_ROLE` / `FEATURE_NOT_IN_PLAN`", body = ApiErrorBody),
        (status = 404, description = "`WEBHOOK_NOT_FOUND`", body = ApiErrorBody),
    ))]
pub async fn rotate_secret(
    State(state): State<AppState>,
    fwd: Forward,
    path: PathParams,
) -> HttpResult<Json<WebhookWithSecretResponse>> {
    let (organization_id, webhook_id) = ids(&path)?;
    let request = pb::RotateWebhookSecretRequest { organization_id, webhook_id };
    let response = state
        .upstream()
        .call(client(&state).rotate_webhook_secret(fwd.request(state.upstream(), request)))
        .await?;
    let webhook = required(response.webhook, "webhook")?.into();
    Ok(Json(WebhookWithSecretResponse { webhook, secret: response.secret }))
}

/// The endpoint's delivery attempts, newest first (ADMIN+): time, status code, latency, error
/// and when the next retry is due.
#[utoipa::path(get, path = "/api/v1/organizations/{id}/webhooks/{webhook_id}/deliveries", tag = "webhooks",
    security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "Organization id"), ("webhook_id" = uuid::Uuid, Path, description = "Webhook endpoint id"), PageParams),
    responses(
        TenantListErrors,
        (status = 200, description = "One page of attempts", body = Page<WebhookDeliveryResponse>),
        (status = 403, description = "`NOT_A_MEMBER` / `INSUFFICIENT_ROLE`", body = ApiErrorBody),
        (status = 404, description = "`WEBHOOK_NOT_FOUND`", body = ApiErrorBody),
    ))]
pub async fn deliveries(
    State(state): State<AppState>,
    fwd: Forward,
    path: PathParams,
    query: QueryParams,
) -> HttpResult<Json<Page<WebhookDeliveryResponse>>> {
    let (organization_id, webhook_id) = ids(&path)?;
    let page = PageParams::from_query(&query)?.to_proto();
    let request = pb::ListWebhookDeliveriesRequest { organization_id, webhook_id, page: Some(page.clone()) };
    let response = state
        .upstream()
        .call(client(&state).list_webhook_deliveries(fwd.request(state.upstream(), request)))
        .await?;
    Ok(Json(Page::new(response.deliveries, response.page, &page)))
}
