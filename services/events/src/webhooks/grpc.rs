//! The `WebhookService` handlers (transport): parse and map; the rules are in [`super`].

use chrono::{DateTime, Utc};
use operant_platform::paging::Page;
use operant_platform::principal::caller;
use operant_proto::events::v1 as pb;
use operant_proto::events::v1::webhook_service_server::WebhookService;
use prost_types::Timestamp;
use tonic::{Request, Response, Status};
use uuid::Uuid;

use super::repo::{AttemptRow, EndpointRow};
use super::{AttemptSort, EndpointSort, NewWebhook, WebhookPatch, Webhooks};
use crate::error::EventsError;

/// The WebhookService handlers.
pub struct WebhookApi {
    pub webhooks: Webhooks,
}

fn timestamp(t: DateTime<Utc>) -> Timestamp {
    Timestamp { seconds: t.timestamp(), nanos: i32::try_from(t.timestamp_subsec_nanos()).unwrap_or(0) }
}

fn id(field: &str, value: &str) -> Result<Uuid, EventsError> {
    Uuid::parse_str(value.trim()).map_err(|_| EventsError::invalid(field, "must be a UUID"))
}

pub fn webhook(row: EndpointRow) -> pb::Webhook {
    pb::Webhook {
        id: row.id.to_string(),
        organization_id: row.organization_id.to_string(),
        url: row.url,
        event_types: row.event_types,
        description: row.description,
        enabled: row.enabled,
        disabled_reason: row.disabled_reason.unwrap_or_default(),
        created_at: Some(timestamp(row.created_at)),
        updated_at: Some(timestamp(row.updated_at)),
        previous_secret_expires_at: row
            .previous_secret_expires_at
            .filter(|until| *until > Utc::now())
            .map(timestamp),
    }
}

pub fn delivery(row: AttemptRow) -> pb::WebhookDelivery {
    pb::WebhookDelivery {
        id: row.id.to_string(),
        event_id: row.event_id.to_string(),
        event_type: row.event_type,
        attempt: row.attempt,
        attempted_at: Some(timestamp(row.attempted_at)),
        status_code: row.status_code.unwrap_or(0),
        latency_ms: row.latency_ms,
        error: row.error.unwrap_or_default(),
        next_retry_at: row.next_retry_at.map(timestamp),
        delivered: row.delivered,
    }
}

/// The changes named by the mask (`url`, `event_types`, `enabled`, `description`).
fn patch(m: &pb::UpdateWebhookRequest) -> Result<WebhookPatch, EventsError> {
    let paths: Vec<&str> = m
        .update_mask
        .as_ref()
        .map(|mask| mask.paths.as_slice())
        .unwrap_or_default()
        .iter()
        .flat_map(|p| p.split(','))
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect();
    // An empty mask changes nothing (and answers the endpoint as it is).
    let mut patch = WebhookPatch::default();
    for path in paths {
        match path.strip_prefix("webhook.").unwrap_or(path) {
            "url" => patch.url = Some(m.url.clone()),
            "event_types" | "eventTypes" => patch.event_types = Some(m.event_types.clone()),
            "enabled" => patch.enabled = Some(m.enabled),
            "description" => patch.description = Some(m.description.clone()),
            other => {
                return Err(EventsError::invalid(
                    "update_mask",
                    format!(
                        "unknown or read-only field `{other}`; updatable: url, event_types, enabled, description"
                    ),
                ));
            }
        }
    }
    Ok(patch)
}

#[tonic::async_trait]
impl WebhookService for WebhookApi {
    async fn create_webhook(
        &self,
        request: Request<pb::CreateWebhookRequest>,
    ) -> Result<Response<pb::CreateWebhookResponse>, Status> {
        let actor = caller(&request)?.actor()?;
        let m = request.into_inner();
        let org = id("organization_id", &m.organization_id)?;
        let new = NewWebhook { url: m.url, event_types: m.event_types, description: m.description };
        let created = self.webhooks.create(&actor, org, new).await?;
        Ok(Response::new(pb::CreateWebhookResponse {
            webhook: Some(webhook(created.endpoint)),
            secret: created.secret,
        }))
    }

    async fn list_webhooks(
        &self,
        request: Request<pb::ListWebhooksRequest>,
    ) -> Result<Response<pb::ListWebhooksResponse>, Status> {
        let actor = caller(&request)?.actor()?;
        let m = request.get_ref();
        let org = id("organization_id", &m.organization_id)?;
        let page = Page::<EndpointSort>::parse(m.page.as_ref(), self.webhooks.page_tokens(), &org)?;
        if page.sort.descending {
            return Err(
                EventsError::invalid("order_by", "webhooks are listed oldest first (created_at)").into()
            );
        }
        let paged = self.webhooks.list(&actor, org, &page).await?;
        Ok(Response::new(pb::ListWebhooksResponse {
            page: Some(page.info(&paged)),
            webhooks: paged.items.into_iter().map(webhook).collect(),
        }))
    }

    async fn get_webhook(
        &self,
        request: Request<pb::GetWebhookRequest>,
    ) -> Result<Response<pb::GetWebhookResponse>, Status> {
        let actor = caller(&request)?.actor()?;
        let m = request.get_ref();
        let (org, wid) = (id("organization_id", &m.organization_id)?, id("webhook_id", &m.webhook_id)?);
        let row = self.webhooks.get(&actor, org, wid).await?;
        Ok(Response::new(pb::GetWebhookResponse { webhook: Some(webhook(row)) }))
    }

    async fn update_webhook(
        &self,
        request: Request<pb::UpdateWebhookRequest>,
    ) -> Result<Response<pb::UpdateWebhookResponse>, Status> {
        let actor = caller(&request)?.actor()?;
        let m = request.get_ref();
        let (org, wid) = (id("organization_id", &m.organization_id)?, id("webhook_id", &m.webhook_id)?);
        let patch = patch(m)?;
        let row = self.webhooks.update(&actor, org, wid, patch).await?;
        Ok(Response::new(pb::UpdateWebhookResponse { webhook: Some(webhook(row)) }))
    }

    async fn delete_webhook(
        &self,
        request: Request<pb::DeleteWebhookRequest>,
    ) -> Result<Response<pb::DeleteWebhookResponse>, Status> {
        let actor = caller(&request)?.actor()?;
        let m = request.get_ref();
        let (org, wid) = (id("organization_id", &m.organization_id)?, id("webhook_id", &m.webhook_id)?);
        self.webhooks.delete(&actor, org, wid).await?;
        Ok(Response::new(pb::DeleteWebhookResponse {}))
    }

    async fn rotate_webhook_secret(
        &self,
        request: Request<pb::RotateWebhookSecretRequest>,
    ) -> Result<Response<pb::RotateWebhookSecretResponse>, Status> {
        let actor = caller(&request)?.actor()?;
        let m = request.get_ref();
        let (org, wid) = (id("organization_id", &m.organization_id)?, id("webhook_id", &m.webhook_id)?);
        let rotated = self.webhooks.rotate(&actor, org, wid).await?;
        Ok(Response::new(pb::RotateWebhookSecretResponse {
            webhook: Some(webhook(rotated.endpoint)),
            secret: rotated.secret,
        }))
    }

    async fn list_webhook_deliveries(
        &self,
        request: Request<pb::ListWebhookDeliveriesRequest>,
    ) -> Result<Response<pb::ListWebhookDeliveriesResponse>, Status> {
        let actor = caller(&request)?.actor()?;
        let m = request.get_ref();
        let (org, wid) = (id("organization_id", &m.organization_id)?, id("webhook_id", &m.webhook_id)?);
        let page = Page::<AttemptSort>::parse(m.page.as_ref(), self.webhooks.page_tokens(), &(org, wid))?;
        if !page.sort.descending {
            return Err(EventsError::invalid(
                "order_by",
                "deliveries are listed newest first (-attempted_at)",
            )
            .into());
        }
        let paged = self.webhooks.deliveries(&actor, org, wid, &page).await?;
        Ok(Response::new(pb::ListWebhookDeliveriesResponse {
            page: Some(page.info(&paged)),
            deliveries: paged.items.into_iter().map(delivery).collect(),
        }))
    }
}
