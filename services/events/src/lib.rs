//! The events service: the change feed of every organization, over gRPC.
//!
//! - `EventsInternalService/IngestEvents` (service credential only) accepts the events that the
//!   owning services wrote to their transactional outboxes and relay (the work service's
//!   `project.*` and `task.*` so far), idempotent by event id.
//! - `EventService/ListEvents` (a cursor-paged read) and `EventService/WatchEvents` (a server
//!   stream from a cursor or from now, with heartbeats) serve an organization's events to its
//!   OWNERs and ADMINs (asked of tenancy's `Authorize`).
//!
//! Feed order is the order of acceptance, made safe to page through while producers commit in
//! any order (see [`repo`]). Events are kept `OPERANT_EVENT_RETENTION_DAYS` (30 days).
//! - `WebhookService` ([`webhooks`]): organizations' signed webhook endpoints (PRO feature
//!   `webhooks`); a delivery per subscribed endpoint is created in the ingest transaction of
//!   each event, and a worker in every replica sends them (Standard Webhooks signatures, retries
//!   for 24 h, `FOR UPDATE SKIP LOCKED` claims with a lease).
//!
//! The service owns the `events`, `webhook_endpoints`, `webhook_deliveries` and
//! `webhook_attempts` tables and nothing else.
//!
//! Layers: `grpc` (handlers) → [`domain`] (rules) → [`repo`] (diesel-async) → PostgreSQL.

use std::sync::Arc;

use operant_platform::clients::service_channel;
use operant_platform::config::{ServiceDatabase, Settings};
use operant_platform::db;
use operant_platform::grpc::{ServerSpec, serve};
use operant_platform::keysync;
use operant_platform::paging::PageTokens;
use operant_platform::principal::{Authenticator, default_access};
use operant_platform::shutdown::Shutdown;
use operant_platform::tokens::TokenVerifier;
use operant_proto::auth::v1::auth_internal_service_client::AuthInternalServiceClient;
use operant_proto::events::v1::event_service_server::EventServiceServer;
use operant_proto::events::v1::events_internal_service_server::EventsInternalServiceServer;
use operant_proto::events::v1::webhook_service_server::WebhookServiceServer;
use tokio::net::TcpListener;
use tonic::server::NamedService;
use tonic::service::Routes;

pub mod domain;
pub mod error;
pub mod grpc;
pub mod peers;
pub mod repo;
pub mod schema;
pub mod webhooks;

/// Every sealed column of the events service (the webhook signing secrets), for
/// `operant rotate-master-key`.
pub const SEALED_COLUMNS: &[operant_platform::sealed::SealedColumn] =
    &[webhooks::signing::SECRET_COLUMN, webhooks::signing::PREVIOUS_SECRET_COLUMN];

/// The events service's migrations (`migrations/events/`), applied to its database only
/// ([`db::run_migrations`]; `operant serve events`, `operant migrate`, `operant dev`).
pub static MIGRATIONS: db::ServiceMigrations = db::ServiceMigrations {
    service: "events",
    migrations: diesel_migrations::embed_migrations!("../../migrations/events"),
};

/// Serves the events gRPC services on `listener` until `shutdown` fires.
pub async fn run(settings: Arc<Settings>, listener: TcpListener, shutdown: Shutdown) -> anyhow::Result<()> {
    let pool = db::pool(settings.database_url(ServiceDatabase::Events)?, &settings.database)?;

    let verifier = Arc::new(TokenVerifier::new(&settings.tokens.issuer, &settings.tokens.audience));
    let auth = service_channel(&settings.endpoints.auth, &settings.tls, &settings.service_token)?;
    keysync::spawn_sync(verifier.clone(), AuthInternalServiceClient::new(auth), shutdown.clone());
    let tenancy = service_channel(&settings.endpoints.tenancy, &settings.tls, &settings.service_token)?;
    let keys = keysync::api_key_verifier(tenancy.clone(), shutdown.clone());
    let authenticator =
        Arc::new(Authenticator::new(verifier, &settings.service_token, default_access).with_api_keys(keys));
    let metrics = operant_platform::metrics::Metrics::new("events");

    let keyring = Arc::new(settings.keyring()?);
    let events = domain::Events::new(pool.clone());
    domain::spawn_purge(events.clone(), settings.event_retention, shutdown.clone());
    webhooks::worker::Worker::new(pool.clone(), events.clone(), keyring.clone(), settings.webhooks)?
        .spawn(shutdown.clone());
    let peers = peers::Peers::new(tenancy);
    let api = grpc::EventApi {
        events: events.clone(),
        peers: peers.clone(),
        shutdown: shutdown.clone(),
        heartbeat: settings.event_heartbeat,
    };
    let webhook_api = webhooks::grpc::WebhookApi {
        webhooks: webhooks::Webhooks::new(
            pool.clone(),
            peers,
            keyring,
            PageTokens::from_settings(&settings),
            settings.webhooks,
        ),
    };
    let internal = grpc::InternalApi { events };

    let routes = Routes::new(EventServiceServer::new(api))
        .add_service(WebhookServiceServer::new(webhook_api))
        .add_service(EventsInternalServiceServer::new(internal));
    let spec = ServerSpec {
        name: "events",
        routes,
        service_names: vec![
            <EventServiceServer<grpc::EventApi> as NamedService>::NAME,
            <WebhookServiceServer<webhooks::grpc::WebhookApi> as NamedService>::NAME,
            <EventsInternalServiceServer<grpc::InternalApi> as NamedService>::NAME,
        ],
        authenticator,
        pool,
        metrics,
        admin: settings.listen.events_admin,
    };
    serve(&settings, listener, spec, shutdown).await
}
