//! `/api/v1/organizations/{id}/{subscription,features,audit-log}` →
//! `operant.tenancy.v1.SubscriptionService`.

use axum::Json;
use axum::extract::State;
use operant_proto::tenancy::v1 as pb;
use operant_proto::tenancy::v1::subscription_service_client::SubscriptionServiceClient;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::required;
use crate::error::{ApiErrorBody, HttpResult};
use crate::extract::{JsonBody, PathParams, QueryParams};
use crate::models::tenancy::{
    AuditEventResponse, FeatureResponse, SubscriptionResponse, UpdateSubscriptionBody,
};
use crate::openapi::{TenantErrors, TenantJsonErrors, TenantListErrors};
use crate::pagination::{Page, PageParams};
use crate::state::AppState;
use crate::upstream::{Forward, IdempotencyKey, Replayed};

/// This module's routes, each with its OpenAPI operation (from the handler's `#[utoipa::path]`).
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_one, update)).routes(routes!(features)).routes(routes!(audit_log))
}

fn client(state: &AppState) -> SubscriptionServiceClient<operant_platform::balance::Balanced> {
    SubscriptionServiceClient::new(state.upstream().tenancy.clone())
}

/// The plan, its limits, current usage and features (any member).
#[utoipa::path(get, path = "/api/v1/organizations/{id}/subscription", tag = "subscription",
    security(("bearer" = [])), params(("id" = uuid::Uuid, Path, description = "Organization id")),
    responses(TenantErrors, (status = 200, description = "The subscription", body = SubscriptionResponse)))]
pub async fn get_one(
    State(state): State<AppState>,
    fwd: Forward,
    path: PathParams,
) -> HttpResult<Json<SubscriptionResponse>> {
    let request = pb::GetSubscriptionRequest { organization_id: path.uuid("id")?.to_string() };
    let response = state
        .upstream()
        .call(client(&state).get_subscription(fwd.request(state.upstream(), request)))
        .await?;
    Ok(Json(required(response.subscription, "subscription")?.into()))
}

/// Changes the plan (OWNER). A downgrade that current usage exceeds is refused.
#[utoipa::path(put, path = "/api/v1/organizations/{id}/subscription", tag = "subscription",
    security(("bearer" = [])), params(("id" = uuid::Uuid, Path, description = "Organization id")),
    request_body = UpdateSubscriptionBody,
    responses(
        TenantJsonErrors,
        (status = 200, description = "The subscription", body = SubscriptionResponse),
        (status = 403, description = "`NOT_A_MEMBER` / `INSUFFICIENT_ROLE`", body = ApiErrorBody),
        (status = 409, description = "`PLAN_LIMIT_EXCEEDED`: usage exceeds the new plan's limits", body = ApiErrorBody),
    ))]
pub async fn update(
    State(state): State<AppState>,
    fwd: Forward,
    key: IdempotencyKey,
    path: PathParams,
    body: JsonBody<UpdateSubscriptionBody>,
) -> HttpResult<(Replayed, Json<SubscriptionResponse>)> {
    let organization_id = path.uuid("id")?.to_string();
    let request = pb::UpdateSubscriptionRequest {
        organization_id,
        plan: body.value.plan.to_proto(),
        request_id: key.0,
    };
    let (replayed, response) = state
        .upstream()
        .call_idempotent(client(&state).update_subscription(fwd.request(state.upstream(), request)))
        .await?;
    Ok((replayed, Json(required(response.subscription, "subscription")?.into())))
}

/// Every known feature and whether the plan enables it.
#[utoipa::path(get, path = "/api/v1/organizations/{id}/features", tag = "subscription",
    security(("bearer" = [])), params(("id" = uuid::Uuid, Path, description = "Organization id")),
    responses(TenantErrors, (status = 200, description = "Features", body = [FeatureResponse])))]
pub async fn features(
    State(state): State<AppState>,
    fwd: Forward,
    path: PathParams,
) -> HttpResult<Json<Vec<FeatureResponse>>> {
    let request = pb::ListFeaturesRequest { organization_id: path.uuid("id")?.to_string() };
    let response =
        state.upstream().call(client(&state).list_features(fwd.request(state.upstream(), request))).await?;
    Ok(Json(response.features.into_iter().map(Into::into).collect()))
}

/// The audit log, newest first (ADMIN+, feature `audit_log`: PRO).
#[utoipa::path(get, path = "/api/v1/organizations/{id}/audit-log", tag = "subscription",
    security(("bearer" = [])), params(("id" = uuid::Uuid, Path, description = "Organization id"), PageParams),
    responses(
        TenantListErrors,
        (status = 200, description = "One page of entries", body = Page<AuditEventResponse>),
        (status = 403, description = "`NOT_A_MEMBER` / `INSUFFICIENT_ROLE` / `FEATURE_NOT_IN_PLAN`", body = ApiErrorBody),
    ))]
pub async fn audit_log(
    State(state): State<AppState>,
    fwd: Forward,
    path: PathParams,
    query: QueryParams,
) -> HttpResult<Json<Page<AuditEventResponse>>> {
    let organization_id = path.uuid("id")?.to_string();
    let page = PageParams::from_query(&query)?.to_proto();
    let request = pb::ListAuditEventsRequest { organization_id, page: Some(page.clone()) };
    let response = state
        .upstream()
        .call(client(&state).list_audit_events(fwd.request(state.upstream(), request)))
        .await?;
    Ok(Json(Page::new(response.events, response.page, &page)))
}
