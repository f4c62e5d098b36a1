//! `/api/v1/events` → `operant.events.v1.EventService/ListEvents` (tenant from
//! `X-Organization-Id`; OWNER or ADMIN only).

use axum::Json;
use axum::extract::State;
use operant_proto::events::v1 as pb;
use operant_proto::events::v1::event_service_client::EventServiceClient;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiErrorBody, HttpResult};
use crate::extract::QueryParams;
use crate::models::events::{EventListParams, EventPage};
use crate::openapi::{OrganizationHeader, TenantErrors};
use crate::state::AppState;
use crate::upstream::Forward;

/// This module's routes, each with its OpenAPI operation.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list))
}

/// The organization's change feed, in feed order (ADMIN+). Page with `after` = the previous
/// page's `next_cursor`; an event committed late is still listed after any cursor handed out
/// before it (the feed's order is the order in which events were accepted, not their ids').
#[utoipa::path(get, path = "/api/v1/events", tag = "events", security(("bearer" = [])),
    params(OrganizationHeader, EventListParams),
    responses(
        TenantErrors,
        (status = 200, description = "One page of the feed", body = EventPage),
        (status = 403, description = "`NOT_A_MEMBER` / `INSUFFICIENT_ROLE` (a MEMBER)", body = ApiErrorBody),
    ))]
pub async fn list(
    State(state): State<AppState>,
    fwd: Forward,
    query: QueryParams,
) -> HttpResult<Json<EventPage>> {
    let params = EventListParams::from_query(&query)?;
    let request = pb::ListEventsRequest {
        after: params.after.unwrap_or_default(),
        types: params.types.unwrap_or_default(),
        limit: params.limit.unwrap_or(0),
    };
    let mut client = EventServiceClient::new(state.upstream().events.clone());
    let response = state.upstream().call(client.list_events(fwd.request(state.upstream(), request))).await?;
    Ok(Json(EventPage {
        items: response.events.into_iter().map(Into::into).collect(),
        next_cursor: response.next_cursor,
        has_more: response.has_more,
    }))
}
