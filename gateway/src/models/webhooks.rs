//! Bodies and answers of the webhook routes (`/organizations/{id}/webhooks*`).

use chrono::{DateTime, Utc};
use operant_proto::events::v1 as pb;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{timestamp, timestamp_or_epoch};

/// `POST /organizations/{id}/webhooks`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateWebhookBody {
    /// Where deliveries are POSTed: `https://...` (in production; `http://` is accepted
    /// elsewhere). In production it must not point to a loopback, private, link-local, CGNAT,
    /// unique-local or metadata address, checked here for IP literals and at every delivery
    /// after DNS resolution (otherwise 422 naming `url`).
    #[schema(example = "https://example.com/hooks/operant")]
    pub url: String,
    /// The event types to deliver (1 to 50, `resource.verb`).
    #[schema(example = json!(["task.created", "task.updated"]))]
    pub event_types: Vec<String>,
    /// Free text, at most 500 characters.
    pub description: Option<String>,
}

/// `PATCH /organizations/{id}/webhooks/{webhook_id}`: fields left out stay unchanged.
#[derive(Debug, Deserialize, ToSchema)]
pub struct UpdateWebhookBody {
    pub url: Option<String>,
    pub event_types: Option<Vec<String>>,
    /// `true` enables it again after the service disabled it (and clears `disabled_reason`).
    pub enabled: Option<bool>,
    pub description: Option<String>,
}

/// A webhook endpoint, without its secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookResponse {
    pub id: String,
    pub organization_id: String,
    pub url: String,
    pub event_types: Vec<String>,
    pub description: String,
    /// Whether deliveries are made.
    pub enabled: bool,
    /// Why the service disabled it: `gone` (the endpoint answered 410), `failing` (every
    /// attempt failed for 24 hours) or `plan` (the organization moved to a plan without
    /// webhooks); `null` otherwise.
    pub disabled_reason: Option<String>,
    #[serde(serialize_with = "super::rfc3339::write")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "super::rfc3339::write")]
    pub updated_at: DateTime<Utc>,
    /// After a rotation: until when the previous secret still signs alongside the new one.
    #[serde(serialize_with = "super::rfc3339::write_opt")]
    pub previous_secret_expires_at: Option<DateTime<Utc>>,
}

impl From<pb::Webhook> for WebhookResponse {
    fn from(w: pb::Webhook) -> Self {
        Self {
            id: w.id,
            organization_id: w.organization_id,
            url: w.url,
            event_types: w.event_types,
            description: w.description,
            enabled: w.enabled,
            disabled_reason: Some(w.disabled_reason).filter(|r| !r.is_empty()),
            created_at: timestamp_or_epoch(w.created_at),
            updated_at: timestamp_or_epoch(w.updated_at),
            previous_secret_expires_at: timestamp(w.previous_secret_expires_at),
        }
    }
}

/// An endpoint with its signing secret, shown this once (no `Debug`: it holds the secret).
#[derive(Serialize, ToSchema)]
pub struct WebhookWithSecretResponse {
    #[serde(flatten)]
    pub webhook: WebhookResponse,
    /// `whsec_` + base64 of the 32-byte signing key. Store it now; it is never shown again.
    pub secret: String,
}

/// One delivery attempt.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookDeliveryResponse {
    pub id: String,
    /// The event (also the `webhook-id` header of the request).
    pub event_id: String,
    pub event_type: String,
    /// 1 for the event's first attempt, then 2, 3, ...
    pub attempt: i32,
    #[serde(serialize_with = "super::rfc3339::write")]
    pub attempted_at: DateTime<Utc>,
    /// The HTTP status answered; `null` when no answer came (see `error`).
    pub status_code: Option<i32>,
    /// Milliseconds from sending to the answer or the failure.
    pub latency_ms: i64,
    /// Why the attempt failed (`HTTP 500`, `timeout`, `connect: ...`); `null` when delivered.
    pub error: Option<String>,
    /// When the next attempt is due; `null` when delivered or given up.
    #[serde(serialize_with = "super::rfc3339::write_opt")]
    pub next_retry_at: Option<DateTime<Utc>>,
    /// Whether this attempt delivered the event (a 2xx answer).
    pub delivered: bool,
}

impl From<pb::WebhookDelivery> for WebhookDeliveryResponse {
    fn from(d: pb::WebhookDelivery) -> Self {
        Self {
            id: d.id,
            event_id: d.event_id,
            event_type: d.event_type,
            attempt: d.attempt,
            attempted_at: timestamp_or_epoch(d.attempted_at),
            status_code: Some(d.status_code).filter(|s| *s != 0),
            latency_ms: d.latency_ms,
            error: Some(d.error).filter(|e| !e.is_empty()),
            next_retry_at: timestamp(d.next_retry_at),
            delivered: d.delivered,
        }
    }
}
