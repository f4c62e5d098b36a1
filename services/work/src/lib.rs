//! The work service: projects and tasks of an organization, over gRPC (`ProjectService`,
//! `TaskService`, and `WorkInternalService` for other services).
//!
//! Every end-user RPC is scoped to the organization in `x-organization-id`; the caller's role
//! and the plan's limits come from the tenancy service (`Authorize`), cached while tenancy's
//! change stream proves the cache fresh ([`standings`]), and access tokens are verified locally
//! with keys kept in sync from the auth service. The work service owns the `projects` and
//! `tasks` tables and its event outbox (`work_event_outbox`, relayed to the events service:
//! [`events`]) and nothing else.
//!
//! Layers: `grpc` (gRPC handlers) → [`domain`] (rules, one transaction per operation) →
//! [`repo`] (diesel-async queries, tenant-scoped) → PostgreSQL.

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
use operant_proto::events::v1::events_internal_service_client::EventsInternalServiceClient;
use operant_proto::tenancy::v1::tenancy_internal_service_client::TenancyInternalServiceClient;
use operant_proto::work::v1::project_service_server::ProjectServiceServer;
use operant_proto::work::v1::task_service_server::TaskServiceServer;
use operant_proto::work::v1::work_internal_service_server::WorkInternalServiceServer;
use tokio::net::TcpListener;
use tonic::server::NamedService;
use tonic::service::Routes;

pub mod domain;
pub mod error;
pub mod events;
mod grpc;
pub mod model;
pub mod peers;
pub mod repo;
pub mod schema;
pub mod standings;

/// The work service's migrations (`migrations/work/`), applied to its database only
/// ([`db::run_migrations`]; `operant serve work`, `operant migrate`, `operant dev`).
pub static MIGRATIONS: db::ServiceMigrations = db::ServiceMigrations {
    service: "work",
    migrations: diesel_migrations::embed_migrations!("../../migrations/work"),
};

/// Serves the work gRPC services on `listener` until `shutdown` fires.
pub async fn run(settings: Arc<Settings>, listener: TcpListener, shutdown: Shutdown) -> anyhow::Result<()> {
    let pool = db::pool(settings.database_url(ServiceDatabase::Work)?, &settings.database)?;

    let verifier = Arc::new(TokenVerifier::new(&settings.tokens.issuer, &settings.tokens.audience));
    let auth = service_channel(&settings.endpoints.auth, &settings.tls, &settings.service_token)?;
    keysync::spawn_sync(verifier.clone(), AuthInternalServiceClient::new(auth), shutdown.clone());
    let tenancy = service_channel(&settings.endpoints.tenancy, &settings.tls, &settings.service_token)?;
    let keys = keysync::api_key_verifier(tenancy.clone(), shutdown.clone());
    let authenticator =
        Arc::new(Authenticator::new(verifier, &settings.service_token, default_access).with_api_keys(keys));
    let metrics = operant_platform::metrics::Metrics::new("work");

    let standings = Arc::new(standings::StandingCache::default());
    standings::spawn_watch(
        standings.clone(),
        TenancyInternalServiceClient::new(tenancy.clone()),
        shutdown.clone(),
    );
    let peers = peers::Peers::new(tenancy, standings);
    let idempotency =
        operant_platform::idempotency::Store::new("work_idempotency_keys", settings.idempotency_ttl);
    operant_platform::idempotency::spawn_purge(pool.clone(), idempotency.clone(), shutdown.clone());

    // The outbox relay: events recorded with each change go to the events service.
    let relay = events::relay();
    let events_channel = service_channel(&settings.endpoints.events, &settings.tls, &settings.service_token)?;
    relay.spawn_relay(pool.clone(), EventsInternalServiceClient::new(events_channel), shutdown.clone());

    let page_tokens = PageTokens::from_settings(&settings);
    let projects = grpc::projects::ProjectApi {
        projects: domain::projects::Projects::new(pool.clone(), idempotency.clone(), relay.clone()),
        peers: peers.clone(),
        page_tokens: page_tokens.clone(),
    };
    let tasks = grpc::tasks::TaskApi {
        tasks: domain::tasks::Tasks::new(pool.clone(), peers.clone(), idempotency, relay),
        peers,
        page_tokens,
    };
    let internal = grpc::internal::InternalApi { internal: domain::internal::Internal::new(pool.clone()) };

    let routes = Routes::new(ProjectServiceServer::new(projects))
        .add_service(TaskServiceServer::new(tasks))
        .add_service(WorkInternalServiceServer::new(internal));
    let spec = ServerSpec {
        name: "work",
        routes,
        service_names: vec![
            <ProjectServiceServer<grpc::projects::ProjectApi> as NamedService>::NAME,
            <TaskServiceServer<grpc::tasks::TaskApi> as NamedService>::NAME,
            <WorkInternalServiceServer<grpc::internal::InternalApi> as NamedService>::NAME,
        ],
        authenticator,
        pool,
        metrics,
        admin: settings.listen.work_admin,
    };
    serve(&settings, listener, spec, shutdown).await
}
