//! The tenancy service: organizations (tenants), their members and roles, plans with limits and
//! feature flags, the audit log, organization API keys, and `Authorize`, `ResolveApiKey` and
//! the API-key revocation stream for the other services.
//!
//! - [`grpc`]: transport (parse and validate proto, call the domain, map back);
//! - [`domain`]: the rules (role matrix, last owner, plan limits, features, audit);
//! - [`repo`]: diesel-async queries, one module per table ([`schema`]);
//! - [`plans`]: the plan table and role ladder as constants (paging is `operant_platform::paging`);
//! - [`peers`]: gRPC clients of auth (user look-ups, verifying an invited address) and work
//!   (project counts, purges);
//! - [`mail`]: invitation mail and tokens, written to `tenancy_mail_outbox` (sealed with the
//!   master key, delivered by the `operant-mail` worker);
//! - [`events`]: the change feed's events of organizations, members, invitations, API keys and
//!   subscriptions, written to `tenancy_event_outbox` with each change and relayed to the events
//!   service (`IngestEvents`);
//! - [`error`]: the service's error type and its mapping to `ApiError`.
//!
//! Access tokens are verified locally with keys and revocations synced from the auth service;
//! API keys are resolved by the domain directly, their revocations heard over LISTEN/NOTIFY.

pub mod domain;
pub mod error;
pub mod events;
pub mod grpc;
pub mod mail;
pub mod peers;
pub mod plans;
pub mod repo;
pub mod schema;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use operant_platform::apikeys::ApiKeyVerifier;
use operant_platform::clients::service_channel;
use operant_platform::config::{ServiceDatabase, Settings};
use operant_platform::db;
use operant_platform::grpc::ServerSpec;
use operant_platform::keysync;
use operant_platform::principal::{Authenticator, default_access};
use operant_platform::shutdown::Shutdown;
use operant_platform::tokens::TokenVerifier;
use operant_proto::auth::v1::auth_internal_service_client::AuthInternalServiceClient;
use operant_proto::events::v1::events_internal_service_client::EventsInternalServiceClient;
use operant_proto::tenancy::v1::api_key_service_server::ApiKeyServiceServer;
use operant_proto::tenancy::v1::invitation_service_server::InvitationServiceServer;
use operant_proto::tenancy::v1::member_service_server::MemberServiceServer;
use operant_proto::tenancy::v1::organization_service_server::OrganizationServiceServer;
use operant_proto::tenancy::v1::subscription_service_server::SubscriptionServiceServer;
use operant_proto::tenancy::v1::tenancy_internal_service_server::TenancyInternalServiceServer;
use tokio::net::TcpListener;
use tonic::server::NamedService;
use tonic::service::Routes;

use crate::domain::api_keys::{LocalResolver, spawn_listener};
use crate::domain::standings::{StandingHub, spawn_ticker};
use crate::domain::{InvitationMail, RevocationHub, Tenancy};
use crate::grpc::{ApiKeyApi, InternalApi, InvitationApi, MemberApi, OrganizationApi, SubscriptionApi};
use crate::peers::Peers;

/// The tenancy service's migrations (`migrations/tenancy/`), applied to its database only
/// ([`db::run_migrations`]; `operant serve tenancy`, `operant migrate`, `operant dev`).
pub static MIGRATIONS: db::ServiceMigrations = db::ServiceMigrations {
    service: "tenancy",
    migrations: diesel_migrations::embed_migrations!("../../migrations/tenancy"),
};

/// Every sealed column of the tenancy service (for `operant rotate-master-key`).
pub const SEALED_COLUMNS: &[operant_platform::sealed::SealedColumn] =
    &[mail::MAIL_OUTBOX, operant_platform::idempotency::Store::sealed_column(IDEMPOTENCY_TABLE)];

/// Tenancy's idempotency keys (its answers hold new API keys' secrets: kept sealed).
pub const IDEMPOTENCY_TABLE: &str = "tenancy_idempotency_keys";

/// Serves the tenancy gRPC services on `listener` until `shutdown` fires, mailing invitations
/// with the transport `OPERANT_MAIL` chooses.
pub async fn run(settings: Arc<Settings>, listener: TcpListener, shutdown: Shutdown) -> anyhow::Result<()> {
    let deliver = operant_mail::deliver_for(&settings)?;
    run_with_mail(settings, listener, shutdown, deliver).await
}

/// [`run`] with a chosen mail transport (tests capture invitations this way).
pub async fn run_with_mail(
    settings: Arc<Settings>,
    listener: TcpListener,
    shutdown: Shutdown,
    deliver: Arc<dyn operant_mail::Deliver>,
) -> anyhow::Result<()> {
    // Production without a master key fails here: invitation mail is sealed at rest.
    let keyring = Arc::new(settings.keyring()?);
    // Migrations are applied by whoever starts the service (`operant serve`/`dev`), not here.
    let url = settings.database_url(ServiceDatabase::Tenancy)?;
    let pool = db::pool(url, &settings.database)?;

    let auth = service_channel(&settings.endpoints.auth, &settings.tls, &settings.service_token)
        .context("auth service endpoint")?;
    let work = service_channel(&settings.endpoints.work, &settings.tls, &settings.service_token)
        .context("work service endpoint")?;
    let events_channel = service_channel(&settings.endpoints.events, &settings.tls, &settings.service_token)
        .context("events service endpoint")?;

    let verifier = Arc::new(TokenVerifier::new(&settings.tokens.issuer, &settings.tokens.audience));
    keysync::spawn_sync(verifier.clone(), AuthInternalServiceClient::new(auth.clone()), shutdown.clone());
    let metrics = operant_platform::metrics::Metrics::new("tenancy");

    let idempotency = operant_platform::idempotency::Store::new(IDEMPOTENCY_TABLE, settings.idempotency_ttl)
        .sealed(keyring.clone());
    operant_platform::idempotency::spawn_purge(pool.clone(), idempotency.clone(), shutdown.clone());
    let outbox = operant_mail::Outbox::new(mail::OUTBOX_TABLE, keyring);
    let worker = operant_mail::Worker::new(outbox, pool.clone(), deliver);
    worker.clone().spawn(shutdown.clone());
    let invitations =
        InvitationMail { worker, public_url: settings.public_url.clone(), ttl: settings.invitation_ttl };
    // The event relay: events recorded with each change go to the events service.
    let events = events::outbox();
    events.spawn_relay(pool.clone(), EventsInternalServiceClient::new(events_channel), shutdown.clone());
    let hub = RevocationHub::default();
    let page_tokens = operant_platform::paging::PageTokens::from_settings(&settings);
    let domain = Tenancy::new(
        pool.clone(),
        Peers::new(auth, work),
        invitations,
        hub.clone(),
        page_tokens,
        idempotency,
        events,
    );
    let keys = Arc::new(ApiKeyVerifier::new(Arc::new(LocalResolver(domain.clone()))));
    let listening = Arc::new(tokio::sync::Notify::new());
    let standings = StandingHub::default();
    spawn_listener(url.to_owned(), keys.clone(), hub, standings.clone(), listening.clone(), shutdown.clone());
    spawn_ticker(pool.clone(), standings.clone(), shutdown.clone());
    // Serve once revocations are heard (bounded, so a database outage at start does not keep
    // the server from reporting NOT_SERVING).
    let _ = tokio::time::timeout(Duration::from_secs(5), listening.notified()).await;
    let authenticator =
        Arc::new(Authenticator::new(verifier, &settings.service_token, default_access).with_api_keys(keys));

    let routes = Routes::new(OrganizationServiceServer::new(OrganizationApi { domain: domain.clone() }))
        .add_service(MemberServiceServer::new(MemberApi { domain: domain.clone() }))
        .add_service(SubscriptionServiceServer::new(SubscriptionApi { domain: domain.clone() }))
        .add_service(InvitationServiceServer::new(InvitationApi { domain: domain.clone() }))
        .add_service(ApiKeyServiceServer::new(ApiKeyApi { domain: domain.clone() }))
        .add_service(TenancyInternalServiceServer::new(InternalApi {
            domain,
            standings,
            shutdown: shutdown.clone(),
        }));
    let spec = ServerSpec {
        name: "tenancy",
        routes,
        service_names: vec![
            OrganizationServiceServer::<OrganizationApi>::NAME,
            MemberServiceServer::<MemberApi>::NAME,
            SubscriptionServiceServer::<SubscriptionApi>::NAME,
            InvitationServiceServer::<InvitationApi>::NAME,
            ApiKeyServiceServer::<ApiKeyApi>::NAME,
            TenancyInternalServiceServer::<InternalApi>::NAME,
        ],
        authenticator,
        pool,
        metrics,
        admin: settings.listen.tenancy_admin,
    };
    operant_platform::grpc::serve(&settings, listener, spec, shutdown).await
}
