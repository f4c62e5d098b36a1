//! `operant`: one binary for the whole suite.
//!
//! - `operant dev` runs auth, tenancy, work (each its own gRPC server on its own port, talking
//!   gRPC to each other) and the REST gateway in one process. Without `OPERANT_DATABASE_URL` it
//!   starts a private PostgreSQL from the installed server binaries in `.operant/postgres`.
//! - `operant serve <service>` runs one service, as in production.
//! - `operant migrate` applies the migrations; `operant rotate-keys` adds a new signing key;
//!   `operant rotate-master-key` re-seals the stored secrets with a new master key.
//!
//! Ctrl-C or SIGTERM stops everything gracefully (in-flight calls finish), the private
//! PostgreSQL included.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use operant_platform::config::Settings;
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
    },
    /// Run one service.
    Serve {
        #[arg(value_enum)]
        service: Service,
    },
    /// Apply pending migrations to OPERANT_DATABASE_URL.
    Migrate,
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
        match cli.command.unwrap_or(Command::Dev { data_dir: PathBuf::from(".operant") }) {
            Command::Dev { data_dir } => dev(settings, data_dir).await,
            Command::Serve { service } => serve(settings, service).await,
            Command::Migrate => db::run_migrations(settings.database_url()?).await,
            Command::Health { url } => health(&url).await,
            Command::Openapi => Ok(()), // answered above, before the runtime starts
            Command::RotateKeys => {
                let kid = operant_auth::rotate_signing_key(&settings).await?;
                println!("new signing key: {kid}");
                Ok(())
            }
            Command::RotateMasterKey => {
                let columns = [operant_auth::SEALED_COLUMNS, operant_tenancy::SEALED_COLUMNS].concat();
                let resealed = operant_platform::sealed::rotate_master_key(&settings, &columns).await?;
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

async fn dev(mut settings: Settings, data_dir: PathBuf) -> anyhow::Result<()> {
    // The development master key lives next to the private database (`--data-dir`).
    settings.master_key.dev_key_file = data_dir.join("master.key");
    let mut private = None;
    if settings.database.url.is_none() {
        let dir = std::path::absolute(data_dir.join("postgres"))?;
        println!("OPERANT_DATABASE_URL is not set: starting a private PostgreSQL in {}", dir.display());
        let pg = operant_devdb::PrivatePostgres::start(&dir).await?;
        operant_devdb::ensure_database(&pg.url(), "operant").await?;
        settings.database.url = Some(pg.url_for("operant"));
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
    db::run_migrations(settings.database_url()?).await?;
    let listen = settings.listen.clone();
    let (auth, tenancy, work, gateway) = (
        bind(listen.auth, "auth").await?,
        bind(listen.tenancy, "tenancy").await?,
        bind(listen.work, "work").await?,
        bind(listen.gateway, "gateway").await?,
    );
    let settings = Arc::new(settings);
    let (trigger, shutdown) = Shutdown::new();
    let mut tasks = tokio::task::JoinSet::new();
    tasks.spawn(operant_auth::run(settings.clone(), auth, shutdown.clone()));
    tasks.spawn(operant_tenancy::run(settings.clone(), tenancy, shutdown.clone()));
    tasks.spawn(operant_work::run(settings.clone(), work, shutdown.clone()));
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
    if !matches!(service, Service::Gateway) && settings.database.run_migrations {
        db::run_migrations(settings.database_url()?).await?;
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
        Service::Gateway => {
            operant_gateway::run(settings.clone(), bind(listen.gateway, "gateway").await?, shutdown).await
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
