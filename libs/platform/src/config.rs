//! Settings, read once from `OPERANT_*` environment variables in [`Settings::from_env`]; the
//! doc of each field names its variable and default. Defaults are safe for development;
//! [`Settings::from_env`] refuses to produce a production configuration that still carries a
//! development secret.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use operant_seal::{Keyring, MasterKeyConfig};

/// The service token used in development when `OPERANT_SERVICE_TOKEN` is unset. Refused in
/// production.
pub const DEV_SERVICE_TOKEN: &str = "operant-dev-service-token-do-not-use-in-production";

/// Where the suite runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Environment {
    Development,
    Test,
    Production,
}

/// The services that own a database (the gateway has none).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ServiceDatabase {
    Auth,
    Tenancy,
    Work,
    Events,
}

impl ServiceDatabase {
    pub const ALL: [ServiceDatabase; 4] =
        [ServiceDatabase::Auth, ServiceDatabase::Tenancy, ServiceDatabase::Work, ServiceDatabase::Events];

    /// `auth`, `tenancy`, `work`, `events`.
    pub fn name(self) -> &'static str {
        match self {
            ServiceDatabase::Auth => "auth",
            ServiceDatabase::Tenancy => "tenancy",
            ServiceDatabase::Work => "work",
            ServiceDatabase::Events => "events",
        }
    }

    /// The variable that gives this service its own database.
    pub fn env_var(self) -> &'static str {
        match self {
            ServiceDatabase::Auth => "OPERANT_AUTH_DATABASE_URL",
            ServiceDatabase::Tenancy => "OPERANT_TENANCY_DATABASE_URL",
            ServiceDatabase::Work => "OPERANT_WORK_DATABASE_URL",
            ServiceDatabase::Events => "OPERANT_EVENTS_DATABASE_URL",
        }
    }
}

/// PostgreSQL connection settings.
///
/// Each service owns its tables and may have a database of its own: a service uses its own
/// variable (`OPERANT_AUTH_DATABASE_URL`, `OPERANT_TENANCY_DATABASE_URL`,
/// `OPERANT_WORK_DATABASE_URL`, `OPERANT_EVENTS_DATABASE_URL`) when set, else the shared `OPERANT_DATABASE_URL`
/// ([`DatabaseConfig::url_of`]). One database for everything, three, or any mix work: the
/// services never read each other's tables.
#[derive(Debug, Clone)]
pub struct DatabaseConfig {
    /// `OPERANT_DATABASE_URL`: the database of every service without a URL of its own; when no
    /// service has any URL, `operant dev` starts a private server.
    pub url: Option<String>,
    /// `OPERANT_AUTH_DATABASE_URL`: auth's own database (default: `url`).
    pub auth_url: Option<String>,
    /// `OPERANT_TENANCY_DATABASE_URL`: tenancy's own database (default: `url`).
    pub tenancy_url: Option<String>,
    /// `OPERANT_WORK_DATABASE_URL`: work's own database (default: `url`).
    pub work_url: Option<String>,
    /// `OPERANT_EVENTS_DATABASE_URL`: the events service's own database (default: `url`).
    pub events_url: Option<String>,
    /// `OPERANT_DB_POOL_SIZE` (default 16): connections per service process.
    pub pool_size: usize,
    /// `OPERANT_DB_CONNECT_TIMEOUT_MS` (default 3000).
    pub connect_timeout: Duration,
    /// `OPERANT_DB_ACQUIRE_TIMEOUT_MS` (default 3000): wait for a free pooled connection.
    pub acquire_timeout: Duration,
    /// `OPERANT_DB_STATEMENT_TIMEOUT_MS` (default 5000): server-side statement timeout.
    pub statement_timeout: Duration,
    /// `OPERANT_RUN_MIGRATIONS` (default true outside production): apply migrations at start.
    pub run_migrations: bool,
}

/// Access and refresh token settings.
#[derive(Debug, Clone)]
pub struct TokenConfig {
    /// `OPERANT_JWT_ISSUER` (default `operant`).
    pub issuer: String,
    /// `OPERANT_JWT_AUDIENCE` (default `operant-api`).
    pub audience: String,
    /// `OPERANT_ACCESS_TOKEN_TTL_SECS` (default 900).
    pub access_ttl: Duration,
    /// `OPERANT_REFRESH_TOKEN_TTL_SECS` (default 604800, 7 days).
    pub refresh_ttl: Duration,
    /// `OPERANT_REFRESH_REUSE_GRACE_SECS` (default 10; 0 disables): how long after a rotation
    /// presenting the just-rotated refresh token again returns the same successor pair
    /// instead of revoking the session (a retry after a lost answer).
    pub refresh_reuse_grace: Duration,
    /// `OPERANT_BCRYPT_COST` (default 12, 4..=31).
    pub bcrypt_cost: u32,
}

/// Listen addresses.
#[derive(Debug, Clone)]
pub struct ListenConfig {
    /// `OPERANT_AUTH_LISTEN` (default 127.0.0.1:9101).
    pub auth: SocketAddr,
    /// `OPERANT_TENANCY_LISTEN` (default 127.0.0.1:9102).
    pub tenancy: SocketAddr,
    /// `OPERANT_WORK_LISTEN` (default 127.0.0.1:9103).
    pub work: SocketAddr,
    /// `OPERANT_EVENTS_LISTEN` (default 127.0.0.1:9104).
    pub events: SocketAddr,
    /// `OPERANT_GATEWAY_LISTEN` (default 127.0.0.1:8000).
    pub gateway: SocketAddr,
    /// Admin (`/metrics`) listeners: `OPERANT_AUTH_ADMIN_LISTEN` (default 127.0.0.1:9111),
    /// `OPERANT_TENANCY_ADMIN_LISTEN` (9112), `OPERANT_WORK_ADMIN_LISTEN` (9113),
    /// `OPERANT_GATEWAY_ADMIN_LISTEN` (9110), `OPERANT_EVENTS_ADMIN_LISTEN` (9114).
    pub auth_admin: SocketAddr,
    pub tenancy_admin: SocketAddr,
    pub work_admin: SocketAddr,
    pub events_admin: SocketAddr,
    pub gateway_admin: SocketAddr,
}

/// Where other services are reached (comma-separated lists of URLs).
#[derive(Debug, Clone)]
pub struct EndpointsConfig {
    /// `OPERANT_AUTH_URL` (default http://127.0.0.1:9101).
    pub auth: Vec<String>,
    /// `OPERANT_TENANCY_URL` (default http://127.0.0.1:9102).
    pub tenancy: Vec<String>,
    /// `OPERANT_WORK_URL` (default http://127.0.0.1:9103).
    pub work: Vec<String>,
    /// `OPERANT_EVENTS_URL` (default http://127.0.0.1:9104).
    pub events: Vec<String>,
}

/// Optional TLS: with a certificate and key every gRPC listener serves TLS; with a CA every
/// client verifies servers against it (and uses `https://` URLs).
#[derive(Debug, Clone, Default)]
pub struct TlsConfig {
    /// `OPERANT_TLS_CERT`: PEM certificate chain of the servers.
    pub cert: Option<PathBuf>,
    /// `OPERANT_TLS_KEY`: PEM private key of the servers.
    pub key: Option<PathBuf>,
    /// `OPERANT_TLS_CA`: PEM CA that clients trust.
    pub ca: Option<PathBuf>,
}

/// Everything a service process needs.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `OPERANT_ENV`: `development` (default), `test` or `production`.
    pub environment: Environment,
    pub database: DatabaseConfig,
    pub tokens: TokenConfig,
    pub listen: ListenConfig,
    pub endpoints: EndpointsConfig,
    pub tls: TlsConfig,
    /// `OPERANT_SERVICE_TOKEN`: the credential services present to each other.
    pub service_token: String,
    /// `OPERANT_CORS_ORIGINS`: comma-separated origins allowed for grpc-web and REST, or `*`
    /// (default).
    pub cors_origins: Vec<String>,
    /// `OPERANT_MAX_BODY_BYTES` (default 1 MiB): largest REST request body.
    pub max_body_bytes: usize,
    /// `OPERANT_HEADER_READ_TIMEOUT_MS` (default 10000): how long the gateway waits for a
    /// request's head (request line and headers; on HTTP/2 the connection preface) before it
    /// closes the connection. Also bounds idle HTTP/1 keep-alive connections and the TLS
    /// handshake, so a slow or silent client cannot hold a connection open.
    pub header_read_timeout: Duration,
    /// `OPERANT_MAX_CONNECTIONS` (default 10000): most client connections the gateway serves at
    /// once; further ones wait in the listen backlog until one closes.
    pub max_connections: usize,
    /// `OPERANT_PUBLIC_URL` (default http://localhost:8000): base of links in emails.
    pub public_url: String,
    /// `OPERANT_INVITATION_TTL_SECS` (default 604800, 7 days): how long an invitation's mailed
    /// token works (a resend starts it again).
    pub invitation_ttl: Duration,
    /// `OPERANT_IDEMPOTENCY_TTL_SECS` (default 86400, 24 hours): how long an `Idempotency-Key`
    /// (`request_id`) and its answer are kept; then purged in bounded batches.
    pub idempotency_ttl: Duration,
    /// `OPERANT_EVENT_RETENTION_DAYS` (default 30): how long the change feed keeps an event
    /// (by its `occurred_at`); older ones are purged in bounded batches.
    pub event_retention: Duration,
    /// `OPERANT_EVENT_HEARTBEAT_MS` (default 10000): how long a `WatchEvents` stream stays quiet
    /// before it sends a heartbeat (and asks tenancy again whether the watcher may read).
    pub event_heartbeat: Duration,
    /// `OPERANT_LOG_FORMAT`: `text` (default) or `json`.
    pub log_json: bool,
    /// `OPERANT_OTLP_ENDPOINT`: an OTLP/gRPC collector (`http://collector:4317`) that receives
    /// the server spans of sampled traces; unset (default): no exporter at all.
    pub otlp_endpoint: Option<String>,
    /// `OPERANT_SHUTDOWN_GRACE` (seconds, default 20): after SIGTERM, how long in-flight calls
    /// (and open streams) may run before the server stops anyway. Keep it below the platform's
    /// kill deadline (Kubernetes `terminationGracePeriodSeconds` minus the preStop sleep).
    pub shutdown_grace: Duration,
    /// `OPERANT_MASTER_KEY` / `OPERANT_MASTER_KEY_FILE` and `OPERANT_MASTER_KEY_PREVIOUS` /
    /// `_FILE`: the key that seals secrets at rest (see [`Settings::keyring`]).
    pub master_key: MasterKeyConfig,
    /// `OPERANT_MAIL`, `OPERANT_SMTP_URL`, `OPERANT_MAIL_FROM`: how mail leaves the system.
    pub mail: MailConfig,
    /// `OPERANT_WEBHOOK_*`: how the events service delivers webhooks.
    pub webhooks: WebhookConfig,
}

/// Webhook delivery settings (the events service).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WebhookConfig {
    /// `OPERANT_WEBHOOK_ALLOW_PRIVATE` (default `true` outside production, `false` in
    /// production): whether endpoints may be `http://` URLs and may resolve to loopback,
    /// private, link-local, CGNAT, unique-local or metadata addresses.
    pub allow_private: bool,
    /// `OPERANT_WEBHOOK_RETRY_SCALE` (default 1): multiplies every delay of the retry schedule
    /// and its 24-hour window (0.001 turns 5 s into 5 ms), for tests and drills.
    pub retry_scale: f64,
}

impl WebhookConfig {
    /// The defaults of an environment.
    pub fn defaults(production: bool) -> Self {
        WebhookConfig { allow_private: !production, retry_scale: 1.0 }
    }
}

/// How outgoing mail is delivered (`OPERANT_MAIL`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailMode {
    /// Over SMTP to `OPERANT_SMTP_URL` (the default when it is set).
    Smtp,
    /// Written to the log, link included (the default without a URL outside production).
    Log,
    /// Not delivered at all; only production says so explicitly.
    Disabled,
}

/// Mail settings. `Debug` leaves out the SMTP URL, which may carry a password.
#[derive(Clone)]
pub struct MailConfig {
    pub mode: MailMode,
    /// `OPERANT_SMTP_URL`: `smtp://user:pass@host:587` (STARTTLS when offered), `smtps://...`
    /// (implicit TLS) or `smtp://host:port?tls=none` (a local relay).
    pub smtp_url: Option<String>,
    /// `OPERANT_MAIL_FROM` (default `Operant <no-reply@localhost>`): the sender address.
    pub from: String,
}

impl std::fmt::Debug for MailConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MailConfig")
            .field("mode", &self.mode)
            .field("smtp_url", &self.smtp_url.as_ref().map(|_| "<redacted>"))
            .field("from", &self.from)
            .finish()
    }
}

impl MailConfig {
    /// Log mode, for tests and development.
    pub fn log() -> Self {
        MailConfig { mode: MailMode::Log, smtp_url: None, from: DEFAULT_MAIL_FROM.into() }
    }

    fn from_env() -> anyhow::Result<Self> {
        let smtp_url = var("OPERANT_SMTP_URL");
        let mode = match var("OPERANT_MAIL").as_deref() {
            None if smtp_url.is_some() => MailMode::Smtp,
            None => MailMode::Log,
            Some("smtp") => MailMode::Smtp,
            Some("log") => MailMode::Log,
            Some("disabled") => MailMode::Disabled,
            Some(other) => bail!("OPERANT_MAIL={other:?}: expected smtp, log or disabled"),
        };
        Ok(MailConfig {
            mode,
            smtp_url,
            from: var("OPERANT_MAIL_FROM").unwrap_or_else(|| DEFAULT_MAIL_FROM.into()),
        })
    }
}

/// The sender when `OPERANT_MAIL_FROM` is not set.
pub const DEFAULT_MAIL_FROM: &str = "Operant <no-reply@localhost>";

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

fn parse<T: std::str::FromStr>(name: &str, default: T) -> anyhow::Result<T>
where
    T::Err: std::fmt::Display,
{
    match var(name) {
        None => Ok(default),
        Some(raw) => raw.parse().map_err(|e| anyhow::anyhow!("{name}={raw:?}: {e}")),
    }
}

fn list(name: &str, default: &str) -> Vec<String> {
    var(name)
        .unwrap_or_else(|| default.to_owned())
        .split(',')
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect()
}

fn millis(name: &str, default: u64) -> anyhow::Result<Duration> {
    parse(name, default).map(Duration::from_millis)
}

impl Settings {
    /// Reads every `OPERANT_*` variable; fails on malformed values and on development secrets
    /// in production.
    pub fn from_env() -> anyhow::Result<Self> {
        let environment = match var("OPERANT_ENV").as_deref() {
            None | Some("development") | Some("dev") => Environment::Development,
            Some("test") => Environment::Test,
            Some("production") | Some("prod") => Environment::Production,
            Some(other) => bail!("OPERANT_ENV={other:?}: expected development, test or production"),
        };
        let production = environment == Environment::Production;
        let settings = Settings {
            environment,
            database: DatabaseConfig {
                url: var("OPERANT_DATABASE_URL"),
                auth_url: var(ServiceDatabase::Auth.env_var()),
                tenancy_url: var(ServiceDatabase::Tenancy.env_var()),
                work_url: var(ServiceDatabase::Work.env_var()),
                events_url: var(ServiceDatabase::Events.env_var()),
                pool_size: parse("OPERANT_DB_POOL_SIZE", 16)?,
                connect_timeout: millis("OPERANT_DB_CONNECT_TIMEOUT_MS", 3000)?,
                acquire_timeout: millis("OPERANT_DB_ACQUIRE_TIMEOUT_MS", 3000)?,
                statement_timeout: millis("OPERANT_DB_STATEMENT_TIMEOUT_MS", 5000)?,
                run_migrations: parse("OPERANT_RUN_MIGRATIONS", !production)?,
            },
            tokens: TokenConfig {
                issuer: var("OPERANT_JWT_ISSUER").unwrap_or_else(|| "operant".into()),
                audience: var("OPERANT_JWT_AUDIENCE").unwrap_or_else(|| "operant-api".into()),
                access_ttl: Duration::from_secs(parse("OPERANT_ACCESS_TOKEN_TTL_SECS", 900)?),
                refresh_ttl: Duration::from_secs(parse("OPERANT_REFRESH_TOKEN_TTL_SECS", 604_800)?),
                refresh_reuse_grace: Duration::from_secs(parse("OPERANT_REFRESH_REUSE_GRACE_SECS", 10)?),
                bcrypt_cost: parse("OPERANT_BCRYPT_COST", 12)?,
            },
            listen: ListenConfig {
                auth: parse("OPERANT_AUTH_LISTEN", SocketAddr::from(([127, 0, 0, 1], 9101)))?,
                tenancy: parse("OPERANT_TENANCY_LISTEN", SocketAddr::from(([127, 0, 0, 1], 9102)))?,
                work: parse("OPERANT_WORK_LISTEN", SocketAddr::from(([127, 0, 0, 1], 9103)))?,
                events: parse("OPERANT_EVENTS_LISTEN", SocketAddr::from(([127, 0, 0, 1], 9104)))?,
                gateway: parse("OPERANT_GATEWAY_LISTEN", SocketAddr::from(([127, 0, 0, 1], 8000)))?,
                auth_admin: parse("OPERANT_AUTH_ADMIN_LISTEN", SocketAddr::from(([127, 0, 0, 1], 9111)))?,
                tenancy_admin: parse(
                    "OPERANT_TENANCY_ADMIN_LISTEN",
                    SocketAddr::from(([127, 0, 0, 1], 9112)),
                )?,
                work_admin: parse("OPERANT_WORK_ADMIN_LISTEN", SocketAddr::from(([127, 0, 0, 1], 9113)))?,
                events_admin: parse("OPERANT_EVENTS_ADMIN_LISTEN", SocketAddr::from(([127, 0, 0, 1], 9114)))?,
                gateway_admin: parse(
                    "OPERANT_GATEWAY_ADMIN_LISTEN",
                    SocketAddr::from(([127, 0, 0, 1], 9110)),
                )?,
            },
            endpoints: EndpointsConfig {
                auth: list("OPERANT_AUTH_URL", "http://127.0.0.1:9101"),
                tenancy: list("OPERANT_TENANCY_URL", "http://127.0.0.1:9102"),
                work: list("OPERANT_WORK_URL", "http://127.0.0.1:9103"),
                events: list("OPERANT_EVENTS_URL", "http://127.0.0.1:9104"),
            },
            tls: TlsConfig {
                cert: var("OPERANT_TLS_CERT").map(PathBuf::from),
                key: var("OPERANT_TLS_KEY").map(PathBuf::from),
                ca: var("OPERANT_TLS_CA").map(PathBuf::from),
            },
            service_token: var("OPERANT_SERVICE_TOKEN").unwrap_or_else(|| DEV_SERVICE_TOKEN.into()),
            cors_origins: list("OPERANT_CORS_ORIGINS", "*"),
            max_body_bytes: parse("OPERANT_MAX_BODY_BYTES", 1024 * 1024)?,
            header_read_timeout: millis("OPERANT_HEADER_READ_TIMEOUT_MS", 10_000)?,
            max_connections: parse("OPERANT_MAX_CONNECTIONS", 10_000)?,
            public_url: var("OPERANT_PUBLIC_URL").unwrap_or_else(|| "http://localhost:8000".into()),
            invitation_ttl: Duration::from_secs(parse("OPERANT_INVITATION_TTL_SECS", 604_800u64)?),
            idempotency_ttl: Duration::from_secs(parse("OPERANT_IDEMPOTENCY_TTL_SECS", 86_400u64)?),
            event_retention: Duration::from_secs(
                parse("OPERANT_EVENT_RETENTION_DAYS", 30u64)?.saturating_mul(86_400),
            ),
            event_heartbeat: millis("OPERANT_EVENT_HEARTBEAT_MS", 10_000)?,
            log_json: match var("OPERANT_LOG_FORMAT").as_deref() {
                None | Some("text") => false,
                Some("json") => true,
                Some(other) => bail!("OPERANT_LOG_FORMAT={other:?}: expected text or json"),
            },
            otlp_endpoint: var("OPERANT_OTLP_ENDPOINT"),
            shutdown_grace: Duration::from_secs(parse("OPERANT_SHUTDOWN_GRACE", 20u64)?),
            master_key: MasterKeyConfig::from_lookup(var)?,
            mail: MailConfig::from_env()?,
            webhooks: WebhookConfig {
                allow_private: parse("OPERANT_WEBHOOK_ALLOW_PRIVATE", !production)?,
                retry_scale: parse("OPERANT_WEBHOOK_RETRY_SCALE", 1.0)?,
            },
        };
        settings.validate()?;
        Ok(settings)
    }

    /// Settings for tests: the given database, ephemeral listeners, bcrypt cost 4.
    pub fn for_tests(database_url: impl Into<String>) -> Self {
        let any = SocketAddr::from(([127, 0, 0, 1], 0));
        Settings {
            environment: Environment::Test,
            database: DatabaseConfig {
                url: Some(database_url.into()),
                auth_url: None,
                tenancy_url: None,
                work_url: None,
                events_url: None,
                pool_size: 4,
                connect_timeout: Duration::from_secs(3),
                acquire_timeout: Duration::from_secs(3),
                statement_timeout: Duration::from_secs(5),
                run_migrations: false,
            },
            tokens: TokenConfig {
                issuer: "operant".into(),
                audience: "operant-api".into(),
                access_ttl: Duration::from_secs(900),
                refresh_ttl: Duration::from_secs(604_800),
                refresh_reuse_grace: Duration::from_secs(10),
                bcrypt_cost: 4,
            },
            listen: ListenConfig {
                auth: any,
                tenancy: any,
                work: any,
                events: any,
                gateway: any,
                auth_admin: any,
                tenancy_admin: any,
                work_admin: any,
                events_admin: any,
                gateway_admin: any,
            },
            // No events service unless a test runs one: a port nobody listens on (the work relay
            // keeps its outbox, the gateway answers 503).
            endpoints: EndpointsConfig {
                auth: vec![],
                tenancy: vec![],
                work: vec![],
                events: vec!["http://127.0.0.1:9".into()],
            },
            tls: TlsConfig::default(),
            service_token: "test-service-token".into(),
            cors_origins: vec!["*".into()],
            max_body_bytes: 1024 * 1024,
            header_read_timeout: Duration::from_secs(10),
            max_connections: 10_000,
            public_url: "http://localhost:8000".into(),
            invitation_ttl: Duration::from_secs(604_800),
            idempotency_ttl: Duration::from_secs(86_400),
            event_retention: Duration::from_secs(30 * 86_400),
            event_heartbeat: Duration::from_secs(10),
            log_json: false,
            otlp_endpoint: None,
            shutdown_grace: Duration::from_secs(5),
            master_key: MasterKeyConfig::random(),
            mail: MailConfig::log(),
            webhooks: WebhookConfig::defaults(false),
        }
    }

    /// Refuses combinations that must never run.
    pub fn validate(&self) -> anyhow::Result<()> {
        if !(4..=31).contains(&self.tokens.bcrypt_cost) {
            bail!("OPERANT_BCRYPT_COST must be within 4..=31, got {}", self.tokens.bcrypt_cost);
        }
        if self.database.pool_size == 0 {
            bail!("OPERANT_DB_POOL_SIZE must be at least 1");
        }
        if self.header_read_timeout.is_zero() {
            bail!("OPERANT_HEADER_READ_TIMEOUT_MS must be at least 1");
        }
        if self.max_connections == 0 {
            bail!("OPERANT_MAX_CONNECTIONS must be at least 1");
        }
        if self.tokens.access_ttl.is_zero() || self.tokens.refresh_ttl <= self.tokens.access_ttl {
            bail!("token lifetimes: need 0 < OPERANT_ACCESS_TOKEN_TTL_SECS < OPERANT_REFRESH_TOKEN_TTL_SECS");
        }
        // A retry within the grace returns the access token issued first: it must still be valid.
        if self.tokens.refresh_reuse_grace >= self.tokens.access_ttl {
            bail!("OPERANT_REFRESH_REUSE_GRACE_SECS must be shorter than OPERANT_ACCESS_TOKEN_TTL_SECS");
        }
        if self.tls.cert.is_some() != self.tls.key.is_some() {
            bail!("OPERANT_TLS_CERT and OPERANT_TLS_KEY go together");
        }
        if let Some(endpoint) = &self.otlp_endpoint {
            if !(endpoint.starts_with("http://") || endpoint.starts_with("https://")) {
                bail!("OPERANT_OTLP_ENDPOINT={endpoint:?}: expected an http:// or https:// URL");
            }
            if endpoint.starts_with("https://") && self.tls.ca.is_none() {
                bail!("OPERANT_OTLP_ENDPOINT over https:// needs OPERANT_TLS_CA to verify the collector");
            }
        }
        if !(self.webhooks.retry_scale > 0.0 && self.webhooks.retry_scale <= 1.0) {
            bail!("OPERANT_WEBHOOK_RETRY_SCALE must be within (0, 1], got {}", self.webhooks.retry_scale);
        }
        if self.idempotency_ttl.is_zero() {
            bail!("OPERANT_IDEMPOTENCY_TTL_SECS must be at least 1");
        }
        if self.event_retention.is_zero() {
            bail!("OPERANT_EVENT_RETENTION_DAYS must be at least 1");
        }
        if self.event_heartbeat < Duration::from_millis(50) {
            bail!("OPERANT_EVENT_HEARTBEAT_MS must be at least 50");
        }
        if self.invitation_ttl.is_zero() {
            bail!("OPERANT_INVITATION_TTL_SECS must be at least 1");
        }
        if self.mail.mode == MailMode::Smtp && self.mail.smtp_url.is_none() {
            bail!("OPERANT_MAIL=smtp needs OPERANT_SMTP_URL");
        }
        if self.environment == Environment::Production {
            if self.mail.mode == MailMode::Log {
                bail!(
                    "production needs OPERANT_SMTP_URL (mail would only be logged, without its links); \
                     set OPERANT_MAIL=disabled to run without sending mail"
                );
            }
            if self.service_token == DEV_SERVICE_TOKEN || self.service_token.len() < 32 {
                bail!(
                    "production needs OPERANT_SERVICE_TOKEN set to a random secret of at least 32 characters"
                );
            }
            if self.tokens.bcrypt_cost < 10 {
                bail!("production needs OPERANT_BCRYPT_COST of at least 10");
            }
        }
        Ok(())
    }

    /// The master keys that seal secrets at rest, for the processes that store secrets (auth,
    /// tenancy's mail outbox and the key commands; work never needs the key). Production without
    /// `OPERANT_MASTER_KEY` fails with [`operant_seal::MISSING_MASTER_KEY`]; development without
    /// one uses (and on first use creates) `<OPERANT_DATA_DIR>/master.key`; tests get a random
    /// key.
    pub fn keyring(&self) -> anyhow::Result<Keyring> {
        Ok(self.master_key.keyring(self.environment == Environment::Production)?)
    }

    /// The database of `svc`: its own variable, else `OPERANT_DATABASE_URL`; an error naming
    /// both when neither is set.
    pub fn database_url(&self, svc: ServiceDatabase) -> anyhow::Result<&str> {
        self.database
            .url_of(svc)
            .with_context(|| format!("{} (or OPERANT_DATABASE_URL) is not set", svc.env_var()))
    }
}

impl DatabaseConfig {
    /// The database of `svc`: its own URL when set, else the shared one.
    pub fn url_of(&self, svc: ServiceDatabase) -> Option<&str> {
        let own = match svc {
            ServiceDatabase::Auth => &self.auth_url,
            ServiceDatabase::Tenancy => &self.tenancy_url,
            ServiceDatabase::Work => &self.work_url,
            ServiceDatabase::Events => &self.events_url,
        };
        own.as_deref().or(self.url.as_deref())
    }

    /// Sets the own URL of `svc`.
    pub fn set_url_of(&mut self, svc: ServiceDatabase, url: Option<String>) {
        match svc {
            ServiceDatabase::Auth => self.auth_url = url,
            ServiceDatabase::Tenancy => self.tenancy_url = url,
            ServiceDatabase::Work => self.work_url = url,
            ServiceDatabase::Events => self.events_url = url,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_gateway_connection_limits_must_be_positive() {
        let mut settings = Settings::for_tests("postgres://unused@127.0.0.1:1/unused");
        settings.validate().expect("test settings are valid");
        settings.header_read_timeout = Duration::ZERO;
        let error = settings.validate().expect_err("a zero header timeout").to_string();
        assert!(error.contains("OPERANT_HEADER_READ_TIMEOUT_MS"), "{error}");
        settings.header_read_timeout = Duration::from_secs(10);
        settings.max_connections = 0;
        let error = settings.validate().expect_err("no connections at all").to_string();
        assert!(error.contains("OPERANT_MAX_CONNECTIONS"), "{error}");
    }

    #[test]
    fn each_service_database_falls_back_to_the_shared_one() {
        let mut settings = Settings::for_tests("postgres://shared@127.0.0.1:1/shared");
        for svc in ServiceDatabase::ALL {
            assert_eq!(settings.database_url(svc).expect("a URL"), "postgres://shared@127.0.0.1:1/shared");
        }
        settings.database.work_url = Some("postgres://work@127.0.0.1:1/work".into());
        assert_eq!(
            settings.database_url(ServiceDatabase::Work).expect("a URL"),
            "postgres://work@127.0.0.1:1/work"
        );
        assert_eq!(
            settings.database_url(ServiceDatabase::Auth).expect("a URL"),
            "postgres://shared@127.0.0.1:1/shared"
        );
        settings.database.url = None;
        let error = settings.database_url(ServiceDatabase::Tenancy).expect_err("no URL").to_string();
        assert!(
            error.contains("OPERANT_TENANCY_DATABASE_URL") && error.contains("OPERANT_DATABASE_URL"),
            "{error}"
        );
        assert_eq!(
            settings.database_url(ServiceDatabase::Work).expect("a URL"),
            "postgres://work@127.0.0.1:1/work"
        );
    }
}
