//! The auth service: accounts, logins, sessions with rotating refresh tokens, Ed25519 access
//! tokens and instant logout.
//!
//! Layers: `grpc` (transport) → `domain` (rules, one transaction) → `repo` (SQL per table).
//! Cross-cutting pieces: `keys` (signing keys, rotation), `reseal` (the sealed columns and the
//! master-key rotation), `revocations` (LISTEN/NOTIFY fan-out of logouts), `passwords` (bcrypt on
//! the blocking pool), `mailer` (outgoing links, through the `mail_outbox` and its worker).
//!
//! Token lifetimes: access tokens `OPERANT_ACCESS_TOKEN_TTL_SECS` (default 15 minutes), refresh
//! tokens `OPERANT_REFRESH_TOKEN_TTL_SECS` (default 7 days, sliding with each rotation), email
//! verification links 24 hours, password reset links 1 hour. Error codes: see [`error`].

pub mod error;
pub mod mailer;

mod domain;
mod grpc;
mod keys;
mod passwords;
mod repo;
mod reseal;
mod revocations;
mod schema;
mod secrets;
mod state;
mod validate;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use operant_platform::clients::service_channel;
use operant_platform::config::{Environment, MailMode, ServiceDatabase, Settings};
use operant_platform::db;
use operant_platform::grpc::{ServerSpec, serve};
use operant_platform::keysync;
use operant_platform::principal::{Access, Authenticator, default_access};
use operant_platform::shutdown::Shutdown;
use operant_platform::tokens::TokenVerifier;
use operant_proto::auth::v1::auth_internal_service_server::AuthInternalServiceServer;
use operant_proto::auth::v1::auth_service_server::AuthServiceServer;
use operant_proto::auth::v1::user_service_server::UserServiceServer;
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tonic::service::Routes;

pub use keys::{UnusableKey, rotate_signing_key};
pub use mailer::{Email, EmailKind, LogMailer, Mailer, SmtpMail};
pub use reseal::{BATCH as RESEAL_BATCH, SEALED_COLUMNS, SealedColumn, rotate_master_key};

use crate::keys::KeyStore;
use crate::revocations::RevocationHub;
use crate::state::AuthState;

/// The auth service's migrations (`migrations/auth/`), applied to its database only
/// ([`db::run_migrations`]; `operant serve auth`, `operant migrate`, `operant dev`).
pub static MIGRATIONS: db::ServiceMigrations = db::ServiceMigrations {
    service: "auth",
    migrations: diesel_migrations::embed_migrations!("../../migrations/auth"),
};

/// Who may call each auth method: the login/registration/recovery flows and the JWKS are
/// public (logout checks its optional access token itself, to stay idempotent), everything
/// else follows
/// [`default_access`] (users; `AuthInternalService` only for services).
pub fn access_policy(path: &str) -> Access {
    const PUBLIC: [&str; 8] = [
        "/operant.auth.v1.AuthService/Logout",
        "/operant.auth.v1.AuthService/Register",
        "/operant.auth.v1.AuthService/Login",
        "/operant.auth.v1.AuthService/RefreshToken",
        "/operant.auth.v1.AuthService/RequestPasswordReset",
        "/operant.auth.v1.AuthService/ConfirmPasswordReset",
        "/operant.auth.v1.AuthService/ConfirmEmailVerification",
        "/operant.auth.v1.AuthService/GetJwks",
    ];
    if PUBLIC.contains(&path) { Access::Public } else { default_access(path) }
}

/// Serves the auth gRPC services on `listener` until `shutdown` fires, with the mailer the
/// settings choose ([`mailer_for`]).
pub async fn run(settings: Arc<Settings>, listener: TcpListener, shutdown: Shutdown) -> anyhow::Result<()> {
    let mailer = mailer_for(&settings)?;
    run_with_mailer(settings, listener, shutdown, mailer).await
}

/// The mailer of `OPERANT_MAIL`: SMTP to `OPERANT_SMTP_URL` from `OPERANT_MAIL_FROM`, the log
/// (links only outside production), or nothing (`disabled`). A malformed URL or sender fails here.
pub fn mailer_for(settings: &Settings) -> anyhow::Result<Arc<dyn Mailer>> {
    let reveal_links = settings.environment != Environment::Production;
    Ok(match settings.mail.mode {
        MailMode::Smtp => Arc::new(SmtpMail(operant_mail::smtp_mailer(&settings.mail)?)),
        MailMode::Log => Arc::new(LogMailer { reveal_links }),
        MailMode::Disabled => Arc::new(LogMailer { reveal_links: false }),
    })
}

/// [`run`] with a chosen mailer (tests capture emails this way).
pub async fn run_with_mailer(
    settings: Arc<Settings>,
    listener: TcpListener,
    shutdown: Shutdown,
    mailer: Arc<dyn Mailer>,
) -> anyhow::Result<()> {
    // Production without a master key fails here, before anything is served.
    let keyring = settings.keyring()?;
    let database_url = settings.database_url(ServiceDatabase::Auth)?.to_owned();
    let pool = db::pool(&database_url, &settings.database)?;
    let verifier = Arc::new(TokenVerifier::new(&settings.tokens.issuer, &settings.tokens.audience));
    let keys = Arc::new(KeyStore::new(verifier.clone(), keyring.clone()));
    let hub = RevocationHub::new(settings.tokens.access_ttl);

    // Keys first, so the first requests can be signed and verified; a database that is down now
    // is retried by the refresher and on the first signing.
    // A key that does not open (wrong master key) is fatal: serving would fail every login.
    if let Err(e) = keys.ensure_and_reload(&pool).await {
        if e.is::<UnusableKey>() {
            return Err(e.context(
                "auth cannot start: a signing key does not open with the configured master key \
                 (OPERANT_MASTER_KEY, or OPERANT_MASTER_KEY_PREVIOUS during a rotation)",
            ));
        }
        tracing::warn!(error = %format!("{e:#}"), "signing keys not loaded yet; retrying in the background");
    }
    let keys_changed = Arc::new(Notify::new());
    let listener_ready = Arc::new(Notify::new());
    keys.spawn_refresher(pool.clone(), keys_changed.clone(), shutdown.clone());
    revocations::spawn_listener(
        database_url,
        verifier.clone(),
        hub.clone(),
        keys_changed,
        listener_ready.clone(),
        shutdown.clone(),
    );
    // Serve once revocations are being listened to (bounded, so a database outage at start
    // does not keep the server from reporting NOT_SERVING).
    let _ = tokio::time::timeout(Duration::from_secs(5), listener_ready.notified()).await;

    let dummy_hash = passwords::dummy_hash(settings.tokens.bcrypt_cost).await?;
    let outbox = operant_mail::Outbox::new("mail_outbox", Arc::new(settings.keyring()?));
    let mail = operant_mail::Worker::new(outbox, pool.clone(), Arc::new(mailer::Delivery(mailer)));
    mail.clone().spawn(shutdown.clone());
    let idempotency = operant_platform::idempotency::Store::new("idempotency_keys", settings.idempotency_ttl);
    let state = Arc::new(AuthState {
        pool: pool.clone(),
        settings: settings.clone(),
        keys,
        verifier: verifier.clone(),
        hub,
        mail,
        keyring,
        dummy_hash,
        idempotency: idempotency.clone(),
    });
    operant_platform::idempotency::spawn_purge(pool.clone(), idempotency, shutdown.clone());
    domain::sessions::spawn_successor_sweep(state.clone(), shutdown.clone());

    let routes = Routes::new(AuthServiceServer::new(grpc::AuthApi { state: state.clone() }))
        .add_service(UserServiceServer::new(grpc::UserApi { state: state.clone() }))
        .add_service(AuthInternalServiceServer::new(grpc::InternalApi { state, shutdown: shutdown.clone() }));
    // API keys are refused by every auth method (403 `API_KEY_NOT_ALLOWED`), after they are
    // verified like everywhere else: a forged or revoked key is 401 here too.
    let tenancy = service_channel(&settings.endpoints.tenancy, &settings.tls, &settings.service_token)
        .context("tenancy service endpoint")?;
    let keys = keysync::api_key_verifier(tenancy, shutdown.clone());
    let authenticator =
        Arc::new(Authenticator::new(verifier, &settings.service_token, access_policy).with_api_keys(keys));
    let metrics = operant_platform::metrics::Metrics::new("auth");
    passwords::instrument(metrics.bcrypt_queue().clone());
    let spec = ServerSpec {
        name: "auth",
        routes,
        service_names: vec![
            "operant.auth.v1.AuthService",
            "operant.auth.v1.UserService",
            "operant.auth.v1.AuthInternalService",
        ],
        authenticator,
        pool,
        metrics,
        admin: settings.listen.auth_admin,
    };
    serve(&settings, listener, spec, shutdown).await
}
