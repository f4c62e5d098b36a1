//! The change feed's JSON: events as `GET /events` returns them, and its parameters.

use chrono::{DateTime, Utc};
use operant_proto::events::v1 as pb;
use serde::Serialize;
use utoipa::{IntoParams, ToSchema};

use super::timestamp_or_epoch;
use crate::error::{HttpError, HttpResult};
use crate::extract::QueryParams;

/// Who made a change.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventActor {
    /// `USER`, `API_KEY` or `SYSTEM`.
    #[serde(rename = "type")]
    pub actor_type: String,
    /// The user's or key's id; `null` for `SYSTEM`.
    pub id: Option<String>,
}

/// One change to the organization's data.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventResponse {
    /// UUIDv7 of the event (the same event is never listed twice).
    pub id: String,
    /// `<resource>.<verb>`: `project.created`, `project.updated`, `project.deleted`,
    /// `task.created`, `task.updated`, `task.deleted`.
    #[serde(rename = "type")]
    pub event_type: String,
    pub organization_id: String,
    pub actor: EventActor,
    #[serde(serialize_with = "super::rfc3339::write")]
    pub occurred_at: DateTime<Utc>,
    /// The resource after the change, as its own routes return it (a deletion: `{"id"}`).
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
    /// For updates: the fields whose value changed.
    pub changed_fields: Vec<String>,
    /// The event's place in the feed: pass it as `after` to read what follows.
    pub cursor: String,
}

impl From<pb::Event> for EventResponse {
    fn from(e: pb::Event) -> Self {
        let actor = e.actor.unwrap_or_default();
        Self {
            id: e.id,
            event_type: e.r#type,
            organization_id: e.organization_id,
            actor: EventActor { actor_type: actor.r#type, id: Some(actor.id).filter(|id| !id.is_empty()) },
            occurred_at: timestamp_or_epoch(e.occurred_at),
            data: e
                .data
                .map(|s| serde_json::Value::Object(operant_proto::json::from_struct(&s)))
                .unwrap_or_else(|| serde_json::json!({})),
            changed_fields: e.changed_fields,
            cursor: e.cursor,
        }
    }
}

/// One page of the feed.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventPage {
    /// The events, oldest first (in feed order).
    pub items: Vec<EventResponse>,
    /// Where the next page starts: always set, so polling with it never misses an event.
    pub next_cursor: String,
    /// Whether more events follow right now.
    pub has_more: bool,
}

/// Parameters of `GET /events`.
#[derive(Debug, Default, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventListParams {
    /// Only events after this cursor (an event's `cursor` or a page's `next_cursor`); absent: the
    /// oldest event kept.
    pub after: Option<String>,
    /// Only these event types (repeat the parameter and/or separate with commas).
    #[param(rename = "type", style = Form, explode)]
    pub types: Option<Vec<String>>,
    /// Page size (1..=100, default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i32>,
}

impl EventListParams {
    /// The parameters; present but empty ones are invalid (the services check the values).
    pub fn from_query(query: &QueryParams) -> HttpResult<Self> {
        let after = query.given("after").map(str::to_owned);
        if after.as_deref() == Some("") {
            return Err(HttpError::validation("after", "must be a cursor returned by the feed"));
        }
        let types: Vec<String> = query.all("type").into_iter().map(str::to_owned).collect();
        if types.iter().any(String::is_empty) {
            return Err(HttpError::validation("type", "must be an event type (`resource.verb`)"));
        }
        let limit = query.int("limit")?;
        if let Some(limit) = limit {
            operant_platform::paging::check_limit(Some(i64::from(limit)))
                .map_err(|v| HttpError::validation(v.field, v.description))?;
        }
        Ok(Self { after, types: Some(types).filter(|t| !t.is_empty()), limit })
    }
}
