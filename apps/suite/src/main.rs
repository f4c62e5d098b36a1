//! `operant`: one binary for the whole suite.
//!
//! - `operant dev` runs auth, tenancy, work, events (each its own gRPC server on its own port, talking
//!   gRPC to each other) and the REST gateway in one process. A service without a database URL
//!   (`OPERANT_<SERVICE>_DATABASE_URL`, else `OPERANT_DATABASE_URL`) gets one on a private
//!   PostgreSQL started from the installed server binaries in `.operant/postgres`: one database
//!   shared by the services, or one each with `--database-per-service`.
//! - `operant serve <service>` runs one service, as in production, migrating only its own
//!   database (`migrations/<service>/`).
//! - `operant migrate [service]` applies each service's migrations to that service's database;
//!   `operant rotate-keys` adds a new signing key;
//!   `operant rotate-master-key` re-seals the stored secrets with a new master key.
//!
//! Ctrl-C or SIGTERM stops everything gracefully (in-flight calls finish), the private
//! PostgreSQL included.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use operant_platform::config::{ServiceDatabase, Settings};
use operant_platform::shutdown::{Shutdown, termination_signal};
use operant_platform::{db, telemetry};
use tokio::net::TcpListener;

#[derive(Parser)]
#[command(name = "operant", version, about = "Operant: multi-tenant SaaS backend as gRPC services")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the whole suite in one process (the default).
    Dev {
        /// Where the private PostgreSQL keeps its data when OPERANT_DATABASE_URL is unset.
        #[arg(long, env = "OPERANT_DATA_DIR", default_value = ".operant")]
        data_dir: PathBuf,
        /// On the private PostgreSQL, give each service a database of its own
        /// (operant_auth, operant_tenancy, operant_work) instead of one shared `operant`.
        #[arg(long)]
        database_per_service: bool,
    },
    /// Run one service.
    Serve {
        #[arg(value_enum)]
        service: Service,
    },
    /// Apply pending migrations: each service's own (migrations/<service>/) to its database
    /// (OPERANT_<SERVICE>_DATABASE_URL, else OPERANT_DATABASE_URL); all services, or the one given.
    Migrate {
        #[arg(value_enum)]
        service: Option<Service>,
    },
    /// Create a new signing key; the previous one keeps verifying until its tokens expire.
    RotateKeys,
    /// Re-seal every stored secret with the master key in OPERANT_MASTER_KEY, opening those
    /// still sealed with the old one given as OPERANT_MASTER_KEY_PREVIOUS. Runs in batches
    /// while the suite serves; afterwards the previous key is no longer needed.
    RotateMasterKey,
    /// Exit 0 when a service is healthy: `http://host:port` asks grpc.health.v1, a URL with a
    /// path (`http://host:8000/health`) expects HTTP 200. For container health checks.
    Health { url: String },
    /// Print the gateway's OpenAPI document (what `/openapi.json` serves), for client generators.
    Openapi,
}

#[derive(Clone, Copy, ValueEnum)]
enum Service {
    Auth,
    Tenancy,
    Work,
    Events,
    Gateway,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    if let Some(Command::Openapi) = cli.command {
        // No settings, logging or runtime: the document is built from the routes alone.
        println!("{}", serde_json::to_string_pretty(&operant_gateway::routes::api().1)?);
        return Ok(());
    }
    let settings = Settings::from_env()?;
    telemetry::init(settings.log_json);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async move {
        let default = Command::Dev { data_dir: PathBuf::from(".operant"), database_per_service: false };
        match cli.command.unwrap_or(default) {
            Command::Dev { data_dir, database_per_service } => {
                dev(settings, data_dir, database_per_service).await
            }
            Command::Serve { service } => serve(settings, service).await,
            Command::Migrate { service: None } => migrate(&settings, &ServiceDatabase::ALL).await,
            Command::Migrate { service: Some(service) } => match service.database() {
                Some(owner) => migrate(&settings, &[owner]).await,
                None => anyhow::bail!("the gateway has no database"),
            },
            Command::Health { url } => health(&url).await,
            Command::Openapi => Ok(()), // answered above, before the runtime starts
            Command::RotateKeys => {
                let kid = operant_auth::rotate_signing_key(&settings).await?;
                println!("new signing key: {kid}");
                Ok(())
            }
            Command::RotateMasterKey => {
                let mut resealed = 0;
                for (owner, columns) in [
                    (ServiceDatabase::Auth, operant_auth::SEALED_COLUMNS),
                    (ServiceDatabase::Tenancy, operant_tenancy::SEALED_COLUMNS),
                    (ServiceDatabase::Events, operant_events::SEALED_COLUMNS),
                ] {
                    resealed +=
                        operant_platform::sealed::rotate_master_key(&settings, owner, columns).await?;
                }
                let key_id = settings.keyring()?.current_id();
                println!(
                    "re-sealed {resealed} values: every sealed value is sealed with master key {key_id}; \
                     OPERANT_MASTER_KEY_PREVIOUS can be removed"
                );
                Ok(())
            }
        }
    })
}

async fn bind(addr: std::net::SocketAddr, what: &str) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr).await.with_context(|| format!("{what}: cannot listen on {addr}"))
}

/// The migrations of the service that owns `owner`'s database.
fn migrations_of(owner: ServiceDatabase) -> &'static db::ServiceMigrations {
    match owner {
        ServiceDatabase::Auth => &operant_auth::MIGRATIONS,
        ServiceDatabase::Tenancy => &operant_tenancy::MIGRATIONS,
        ServiceDatabase::Work => &operant_work::MIGRATIONS,
        ServiceDatabase::Events => &operant_events::MIGRATIONS,
    }
}

/// Applies each service's migrations to its own database, one service after the other.
async fn migrate(settings: &Settings, owners: &[ServiceDatabase]) -> anyhow::Result<()> {
    for &owner in owners {
        db::run_migrations(settings.database_url(owner)?, migrations_of(owner)).await?;
    }
    Ok(())
}

async fn dev(mut settings: Settings, data_dir: PathBuf, database_per_service: bool) -> anyhow::Result<()> {
    // The development master key lives next to the private database (`--data-dir`).
    settings.master_key.dev_key_file = data_dir.join("master.key");
    let mut private = None;
    let missing: Vec<_> =
        ServiceDatabase::ALL.into_iter().filter(|&svc| settings.database.url_of(svc).is_none()).collect();
    if !missing.is_empty() {
        let dir = std::path::absolute(data_dir.join("postgres"))?;
        let names: Vec<_> = missing.iter().map(|svc| svc.env_var()).collect();
        println!(
            "{} (and OPERANT_DATABASE_URL) not set: starting a private PostgreSQL in {}",
            names.join(", "),
            dir.display()
        );
        let pg = operant_devdb::PrivatePostgres::start(&dir).await?;
        for svc in missing {
            let name =
                if database_per_service { format!("operant_{}", svc.name()) } else { "operant".to_owned() };
            operant_devdb::ensure_database(&pg.url(), &name).await?;
            println!("  {} database: {name}", svc.name());
            settings.database.set_url_of(svc, Some(pg.url_for(&name)));
        }
        private = Some(pg);
    }
    let result = run_suite(settings).await;
    if let Some(pg) = private {
        println!("stopping the private PostgreSQL");
        pg.stop().await?;
    }
    result
}

async fn run_suite(settings: Settings) -> anyhow::Result<()> {
    migrate(&settings, &ServiceDatabase::ALL).await?;
    let listen = settings.listen.clone();
    let (auth, tenancy, work, events, gateway) = (
        bind(listen.auth, "auth").await?,
        bind(listen.tenancy, "tenancy").await?,
        bind(listen.work, "work").await?,
        bind(listen.events, "events").await?,
        bind(listen.gateway, "gateway").await?,
    );
    let settings = Arc::new(settings);
    let (trigger, shutdown) = Shutdown::new();
    let mut tasks = tokio::task::JoinSet::new();
    tasks.spawn(operant_auth::run(settings.clone(), auth, shutdown.clone()));
    tasks.spawn(operant_tenancy::run(settings.clone(), tenancy, shutdown.clone()));
    tasks.spawn(operant_work::run(settings.clone(), work, shutdown.clone()));
    tasks.spawn(operant_events::run(settings.clone(), events, shutdown.clone()));
    tasks.spawn(operant_gateway::run(settings.clone(), gateway, shutdown.clone()));

    let gw = listen.gateway;
    println!();
    println!("Operant is running:");
    println!("  REST API      http://{gw}/api/v1");
    println!("  Swagger UI    http://{gw}/docs");
    println!("  ReDoc         http://{gw}/redoc");
    println!("  OpenAPI       http://{gw}/openapi.json");
    println!("  gRPC auth     {}", listen.auth);
    println!("  gRPC tenancy  {}", listen.tenancy);
    println!("  gRPC work     {}", listen.work);
    println!("  gRPC events   {}", listen.events);
    println!("Press Ctrl-C to stop.");

    let mut failure = None;
    tokio::select! {
        _ = termination_signal() => println!("stopping..."),
        Some(done) = tasks.join_next() => {
            failure = Some(match done {
                Ok(Ok(())) => anyhow::anyhow!("a service stopped unexpectedly"),
                Ok(Err(e)) => e,
                Err(e) => anyhow::anyhow!("a service panicked: {e}"),
            });
        }
    }
    trigger.trigger();
    while let Some(done) = tasks.join_next().await {
        match done {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::error!(error = %format!("{e:#}"), "service failed while stopping"),
            Err(e) => tracing::error!(error = %e, "service panicked while stopping"),
        }
    }
    match failure {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

async fn serve(settings: Settings, service: Service) -> anyhow::Result<()> {
    if let Some(owner) = service.database()
        && settings.database.run_migrations
    {
        migrate(&settings, &[owner]).await?;
    }
    let settings = Arc::new(settings);
    let (trigger, shutdown) = Shutdown::new();
    tokio::spawn(async move {
        termination_signal().await;
        trigger.trigger();
    });
    let listen = &settings.listen;
    match service {
        Service::Auth => {
            operant_auth::run(settings.clone(), bind(listen.auth, "auth").await?, shutdown).await
        }
        Service::Tenancy => {
            operant_tenancy::run(settings.clone(), bind(listen.tenancy, "tenancy").await?, shutdown).await
        }
        Service::Work => {
            operant_work::run(settings.clone(), bind(listen.work, "work").await?, shutdown).await
        }
        Service::Events => {
            operant_events::run(settings.clone(), bind(listen.events, "events").await?, shutdown).await
        }
        Service::Gateway => {
            operant_gateway::run(settings.clone(), bind(listen.gateway, "gateway").await?, shutdown).await
        }
    }
}

impl Service {
    /// The database this service owns (the gateway has none).
    fn database(self) -> Option<ServiceDatabase> {
        match self {
            Service::Auth => Some(ServiceDatabase::Auth),
            Service::Tenancy => Some(ServiceDatabase::Tenancy),
            Service::Work => Some(ServiceDatabase::Work),
            Service::Events => Some(ServiceDatabase::Events),
            Service::Gateway => None,
        }
    }
}

async fn health(url: &str) -> anyhow::Result<()> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rest = url.strip_prefix("http://").context("health: only http:// URLs")?;
    let (host, path) = rest.split_once('/').map(|(h, p)| (h, Some(p))).unwrap_or((rest, None));
    let probe = async {
        match path {
            Some(path) => {
                let mut stream = tokio::net::TcpStream::connect(host).await?;
                let request = format!("GET /{path} HTTP/1.0\r\nHost: {host}\r\n\r\n");
                stream.write_all(request.as_bytes()).await?;
                let mut head = [0u8; 12];
                stream.read_exact(&mut head).await?;
                anyhow::ensure!(&head[9..12] == b"200", "HTTP {}", String::from_utf8_lossy(&head[9..12]));
                Ok(())
            }
            None => {
                let channel = tonic::transport::Endpoint::from_shared(url.to_owned())?.connect().await?;
                let mut client = tonic_health::pb::health_client::HealthClient::new(channel);
                let status = client
                    .check(tonic_health::pb::HealthCheckRequest { service: String::new() })
                    .await?
                    .into_inner()
                    .status;
                anyhow::ensure!(status == 1, "not serving (status {status})");
                Ok(())
            }
        }
    };
    tokio::time::timeout(std::time::Duration::from_secs(3), probe).await.context("health: timed out")?
}
