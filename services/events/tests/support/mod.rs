//! Helpers of the webhook tests: events to ingest, endpoints, the deliveries log, and a
//! signature check written from the Standard Webhooks specification (independent of the
//! service's own signing code).

#![allow(dead_code)]

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::Utc;
use operant_proto::events::v1::*;
use operant_testkit::receiver::Received;
use operant_testkit::{Actor as OrgActor, Clients};
use ring::hmac;
use uuid::Uuid;

/// An event of `org` with a fresh UUIDv7 (`data.n` = 7).
pub fn event(org: Uuid, event_type: &str) -> Event {
    let data = serde_json::json!({"id": Uuid::now_v7().to_string(), "n": 7});
    Event {
        id: Uuid::now_v7().to_string(),
        r#type: event_type.into(),
        organization_id: org.to_string(),
        actor: Some(Actor { r#type: "USER".into(), id: Uuid::now_v7().to_string() }),
        occurred_at: Some(prost_types::Timestamp { seconds: Utc::now().timestamp(), nanos: 0 }),
        data: Some(operant_proto::json::to_struct(data.as_object().expect("object"))),
        changed_fields: vec![],
        cursor: String::new(),
    }
}

pub async fn ingest(c: &Clients, events: Vec<Event>) -> IngestEventsResponse {
    c.events_internal
        .clone()
        .ingest_events(IngestEventsRequest { events })
        .await
        .expect("ingest")
        .into_inner()
}

/// Creates an endpoint of the actor's organization.
pub async fn create(c: &Clients, who: &OrgActor, url: &str, types: &[&str]) -> CreateWebhookResponse {
    let request = CreateWebhookRequest {
        organization_id: who.org.to_string(),
        url: url.into(),
        event_types: types.iter().map(|t| t.to_string()).collect(),
        description: String::new(),
    };
    c.webhooks.clone().create_webhook(who.req(request)).await.expect("create webhook").into_inner()
}

/// The first page (100) of an endpoint's deliveries log, newest first.
pub async fn deliveries(c: &Clients, who: &OrgActor, webhook_id: &str) -> Vec<WebhookDelivery> {
    let request = ListWebhookDeliveriesRequest {
        organization_id: who.org.to_string(),
        webhook_id: webhook_id.into(),
        page: operant_testkit::page(0, 100, ""),
    };
    c.webhooks
        .clone()
        .list_webhook_deliveries(who.req(request))
        .await
        .expect("deliveries")
        .into_inner()
        .deliveries
}

/// Whether one of the request's `v1,` signatures is HMAC-SHA256 of `id.timestamp.body` under
/// the key of `secret` (`whsec_` + base64).
pub fn verifies(secret: &str, r: &Received) -> bool {
    let key = STANDARD.decode(secret.strip_prefix("whsec_").expect("whsec_ prefix")).expect("base64 key");
    let key = hmac::Key::new(hmac::HMAC_SHA256, &key);
    let mut message = format!("{}.{}.", r.id, r.timestamp).into_bytes();
    message.extend_from_slice(&r.body);
    r.signature.split(' ').any(|sig| {
        sig.strip_prefix("v1,")
            .and_then(|b64| STANDARD.decode(b64).ok())
            .is_some_and(|tag| hmac::verify(&key, &message, &tag).is_ok())
    })
}

/// The request with only one of its signatures.
pub fn single(r: &Received, signature: &str) -> Received {
    Received { signature: signature.to_owned(), ..r.clone() }
}
