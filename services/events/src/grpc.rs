//! The gRPC handlers (transport): `EventService` (ADMIN+ of the organization in
//! `x-organization-id`) and `EventsInternalService` (service credential only, enforced by the
//! access policy before a handler runs). They parse and map; the rules are in [`crate::domain`].

use std::pin::Pin;
use std::time::Duration;

use chrono::{DateTime, Datelike, Utc};
use operant_platform::principal::{caller, organization_id};
use operant_platform::shutdown::Shutdown;
use operant_proto::events::v1 as pb;
use operant_proto::events::v1::event_service_server::EventService;
use operant_proto::events::v1::events_internal_service_server::EventsInternalService;
use operant_proto::json;
use prost_types::Timestamp;
use tokio_stream::Stream;
use tonic::{Request, Response, Status};
use uuid::Uuid;

use crate::domain::{self, DEFAULT_LIMIT, Events, MAX_LIMIT};
use crate::error::EventsError;
use crate::peers::Peers;
use crate::repo::{EventRow, NewEvent};

/// How often an idle watch looks for events accepted by another replica.
pub const POLL: Duration = Duration::from_millis(250);
/// Events read per query of a watch.
const WATCH_BATCH: i64 = 100;

/// The proto form of a stored event.
pub fn event(row: EventRow) -> pb::Event {
    pb::Event {
        id: row.id.to_string(),
        r#type: row.event_type,
        organization_id: row.organization_id.to_string(),
        actor: Some(pb::Actor {
            r#type: row.actor_type,
            id: row.actor_id.map(|id| id.to_string()).unwrap_or_default(),
        }),
        occurred_at: Some(timestamp(row.occurred_at)),
        data: Some(match &row.data {
            serde_json::Value::Object(map) => json::to_struct(map),
            _ => prost_types::Struct::default(),
        }),
        changed_fields: row.changed_fields,
        cursor: domain::cursor(row.position),
    }
}

fn timestamp(t: DateTime<Utc>) -> Timestamp {
    Timestamp { seconds: t.timestamp(), nanos: i32::try_from(t.timestamp_subsec_nanos()).unwrap_or(0) }
}

fn time(field: &str, value: Option<&Timestamp>) -> Result<DateTime<Utc>, EventsError> {
    value
        .and_then(|t| u32::try_from(t.nanos).ok().and_then(|n| DateTime::from_timestamp(t.seconds, n)))
        .filter(|t| (1..=9999).contains(&t.year()))
        .ok_or_else(|| EventsError::invalid(field, "must be a timestamp between the years 1 and 9999"))
}

fn uuid(field: &str, value: &str) -> Result<Uuid, EventsError> {
    Uuid::parse_str(value.trim()).map_err(|_| EventsError::invalid(field, "must be a UUID"))
}

/// A relayed event as the domain takes it.
fn new_event(i: usize, e: pb::Event) -> Result<NewEvent, EventsError> {
    let actor = e.actor.unwrap_or_default();
    let actor_id = match actor.id.trim() {
        "" => None,
        id => Some(uuid(&format!("events[{i}].actor.id"), id)?),
    };
    Ok(NewEvent {
        id: uuid(&format!("events[{i}].id"), &e.id)?,
        organization_id: uuid(&format!("events[{i}].organization_id"), &e.organization_id)?,
        event_type: e.r#type,
        actor_type: actor.r#type,
        actor_id,
        occurred_at: time(&format!("events[{i}].occurred_at"), e.occurred_at.as_ref())?,
        data: e
            .data
            .map(|s| serde_json::Value::Object(json::from_struct(&s)))
            .ok_or_else(|| EventsError::invalid(format!("events[{i}].data"), "is required"))?,
        changed_fields: e.changed_fields,
    })
}

/// The EventsInternalService handlers.
pub struct InternalApi {
    pub events: Events,
}

#[tonic::async_trait]
impl EventsInternalService for InternalApi {
    async fn ingest_events(
        &self,
        request: Request<pb::IngestEventsRequest>,
    ) -> Result<Response<pb::IngestEventsResponse>, Status> {
        let batch = request
            .into_inner()
            .events
            .into_iter()
            .enumerate()
            .map(|(i, e)| new_event(i, e))
            .collect::<Result<Vec<_>, _>>()?;
        let (accepted, duplicates) = self.events.ingest(batch).await?;
        Ok(Response::new(pb::IngestEventsResponse {
            accepted: i32::try_from(accepted).unwrap_or(i32::MAX),
            duplicates: i32::try_from(duplicates).unwrap_or(i32::MAX),
        }))
    }
}

/// The EventService handlers.
pub struct EventApi {
    pub events: Events,
    pub peers: Peers,
    pub shutdown: Shutdown,
    /// How long a watch stays quiet before it sends a heartbeat (and asks tenancy again whether
    /// the watcher is still an admin): `OPERANT_EVENT_HEARTBEAT_MS`.
    pub heartbeat: Duration,
}

type WatchStream = Pin<Box<dyn Stream<Item = Result<pb::WatchEventsResponse, Status>> + Send>>;

fn heartbeat(position: i64) -> pb::WatchEventsResponse {
    pb::WatchEventsResponse {
        item: Some(pb::watch_events_response::Item::Heartbeat(pb::Heartbeat {
            cursor: domain::cursor(position),
        })),
    }
}

#[tonic::async_trait]
impl EventService for EventApi {
    async fn list_events(
        &self,
        request: Request<pb::ListEventsRequest>,
    ) -> Result<Response<pb::ListEventsResponse>, Status> {
        let actor = caller(&request)?.actor()?;
        let org = organization_id(&request)?;
        let message = request.get_ref();
        let after = domain::parse_cursor("after", &message.after)?.unwrap_or(0);
        let types = domain::parse_types("types", &message.types)?;
        let limit = match i64::from(message.limit) {
            0 => DEFAULT_LIMIT,
            n if (1..=MAX_LIMIT).contains(&n) => n,
            _ => return Err(EventsError::invalid("limit", format!("must be within 1..={MAX_LIMIT}")).into()),
        };
        self.peers.require_admin(&actor, org).await?;
        let page = self.events.page(org, after, &types, limit).await?;
        Ok(Response::new(pb::ListEventsResponse {
            events: page.events.into_iter().map(event).collect(),
            next_cursor: domain::cursor(page.next),
            has_more: page.has_more,
        }))
    }

    type WatchEventsStream = WatchStream;

    async fn watch_events(
        &self,
        request: Request<pb::WatchEventsRequest>,
    ) -> Result<Response<WatchStream>, Status> {
        let actor = caller(&request)?.actor()?;
        let org = organization_id(&request)?;
        let message = request.get_ref();
        let after = domain::parse_cursor("after", &message.after)?;
        let types = domain::parse_types("types", &message.types)?;
        self.peers.require_admin(&actor, org).await?;
        let mut position = match after {
            Some(after) => after,
            None => self.events.head().await?,
        };
        let (tx, rx) = tokio::sync::mpsc::channel(64);
        let (events, peers, shutdown) = (self.events.clone(), self.peers.clone(), self.shutdown.clone());
        let heartbeat_every = self.heartbeat;
        tokio::spawn(async move {
            // At least once: an event is sent before the position moves past it, so a watcher
            // that resumes after the last cursor it received misses nothing.
            if tx.send(Ok(heartbeat(position))).await.is_err() {
                return;
            }
            let mut quiet_since = tokio::time::Instant::now();
            loop {
                let accepted = events.accepted().clone();
                let woken = accepted.notified();
                tokio::pin!(woken);
                woken.as_mut().enable();
                let page = match events.page(org, position, &types, WATCH_BATCH).await {
                    Ok(page) => page,
                    Err(e) => {
                        let _ = tx.send(Err(e.into())).await;
                        return;
                    }
                };
                let sent_any = !page.events.is_empty();
                for row in page.events {
                    let item = pb::watch_events_response::Item::Event(event(row));
                    if tx.send(Ok(pb::WatchEventsResponse { item: Some(item) })).await.is_err() {
                        return;
                    }
                }
                position = page.next;
                if sent_any {
                    quiet_since = tokio::time::Instant::now();
                }
                if page.has_more {
                    continue;
                }
                if quiet_since.elapsed() >= heartbeat_every {
                    if let Err(e) = peers.require_admin(&actor, org).await {
                        let _ = tx.send(Err(e.into())).await;
                        return;
                    }
                    if tx.send(Ok(heartbeat(position))).await.is_err() {
                        return;
                    }
                    quiet_since = tokio::time::Instant::now();
                }
                tokio::select! {
                    _ = &mut woken => {}
                    // Until the next look: the poll, or the heartbeat if it is due sooner.
                    _ = tokio::time::sleep(POLL.min(heartbeat_every.saturating_sub(quiet_since.elapsed()))) => {}
                    _ = tx.closed() => return,
                    _ = shutdown.wait() => return,
                }
            }
        });
        Ok(Response::new(Box::pin(tokio_stream::wrappers::ReceiverStream::new(rx))))
    }
}
