//! `/api/v1/organizations/{id}/api-keys*` → `operant.tenancy.v1.ApiKeyService`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use operant_proto::tenancy::v1 as pb;
use operant_proto::tenancy::v1::api_key_service_client::ApiKeyServiceClient;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{not_null, required};
use crate::error::{ApiErrorBody, HttpResult};
use crate::extract::{JsonBody, PathParams, QueryParams};
use crate::models::tenancy::{ApiKeyResponse, CreateApiKeyBody, CreatedApiKeyResponse};
use crate::models::to_timestamp;
use crate::openapi::{TenantErrors, TenantJsonErrors, TenantListErrors};
use crate::pagination::{Page, PageParams};
use crate::state::AppState;
use crate::upstream::{Forward, IdempotencyKey, Replayed};

/// This module's routes, each with its OpenAPI operation (from the handler's `#[utoipa::path]`).
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list, create)).routes(routes!(revoke))
}

fn client(state: &AppState) -> ApiKeyServiceClient<operant_platform::balance::Balanced> {
    ApiKeyServiceClient::new(state.upstream().tenancy.clone())
}

/// Creates an API key (ADMIN+; role ADMIN or MEMBER, never above yours) within the plan's
/// `max_api_keys`. The answer holds the secret `key`, shown this once.
#[utoipa::path(post, path = "/api/v1/organizations/{id}/api-keys", tag = "api_keys", security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "Organization id")), request_body = CreateApiKeyBody,
    responses(
        TenantJsonErrors,
        (status = 201, description = "The new key with its secret", body = CreatedApiKeyResponse),
        (status = 403, description = "`NOT_A_MEMBER` / `INSUFFICIENT_ROLE` / `PLAN_LIMIT_REACHED`", body = ApiErrorBody),
    ))]
pub async fn create(
    State(state): State<AppState>,
    fwd: Forward,
    key: IdempotencyKey,
    path: PathParams,
    body: JsonBody<CreateApiKeyBody>,
) -> HttpResult<(StatusCode, Replayed, Json<CreatedApiKeyResponse>)> {
    let organization_id = path.uuid("id")?.to_string();
    // Leave `expires_at` out for a key that never expires; an explicit null is refused.
    not_null(body.has("expires_at"), &body.value.expires_at, "expires_at")?;
    let b = body.value;
    let request = pb::CreateApiKeyRequest {
        organization_id,
        name: b.name,
        role: b.role.to_proto(),
        expires_at: b.expires_at.map(to_timestamp),
        request_id: key.0,
    };
    let (replayed, response) = state
        .upstream()
        .call_idempotent(client(&state).create_api_key(fwd.request(state.upstream(), request)))
        .await?;
    let api_key = required(response.api_key, "api_key")?.into();
    Ok((StatusCode::CREATED, replayed, Json(CreatedApiKeyResponse { api_key, key: response.key })))
}

/// The organization's keys that are not revoked, newest first, without secrets (ADMIN+).
#[utoipa::path(get, path = "/api/v1/organizations/{id}/api-keys", tag = "api_keys", security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "Organization id"), PageParams),
    responses(
        TenantListErrors,
        (status = 200, description = "One page of keys", body = Page<ApiKeyResponse>),
        (status = 403, description = "`NOT_A_MEMBER` / `INSUFFICIENT_ROLE`", body = ApiErrorBody),
    ))]
pub async fn list(
    State(state): State<AppState>,
    fwd: Forward,
    path: PathParams,
    query: QueryParams,
) -> HttpResult<Json<Page<ApiKeyResponse>>> {
    let organization_id = path.uuid("id")?.to_string();
    let page = PageParams::from_query(&query)?.to_proto();
    let request = pb::ListApiKeysRequest { organization_id, page: Some(page.clone()) };
    let response =
        state.upstream().call(client(&state).list_api_keys(fwd.request(state.upstream(), request))).await?;
    Ok(Json(Page::new(response.api_keys, response.page, &page)))
}

/// Revokes a key (ADMIN+): every service refuses it within a second.
#[utoipa::path(delete, path = "/api/v1/organizations/{id}/api-keys/{key_id}", tag = "api_keys",
    security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "Organization id"), ("key_id" = uuid::Uuid, Path, description = "API key id")),
    responses(
        TenantErrors,
        (status = 204, description = "Revoked"),
        (status = 403, description = "`NOT_A_MEMBER` / `INSUFFICIENT_ROLE`", body = ApiErrorBody),
        (status = 404, description = "`API_KEY_NOT_FOUND`", body = ApiErrorBody),
    ))]
pub async fn revoke(State(state): State<AppState>, fwd: Forward, path: PathParams) -> HttpResult<StatusCode> {
    let organization_id = path.uuid("id")?.to_string();
    let api_key_id = path.uuid("key_id")?.to_string();
    let request = pb::RevokeApiKeyRequest { organization_id, api_key_id };
    state.upstream().call(client(&state).revoke_api_key(fwd.request(state.upstream(), request))).await?;
    Ok(StatusCode::NO_CONTENT)
}
