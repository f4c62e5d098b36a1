//! Whether a server is up and ours: it accepts TCP connections, answers `SELECT 1` and runs
//! from our data directory (and is not some other server that happens to listen on the port).

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context as _, anyhow, bail};

use crate::SUPERUSER;
use crate::admin::Admin;
use crate::cluster::PORT_FILE;
use crate::server::READY_TIMEOUT;

/// The port of a server running from `data_dir` that accepts connections, if any.
pub(crate) async fn running_port(data_dir: &Path) -> Option<u16> {
    if !data_dir.join("postmaster.pid").exists() {
        return None;
    }
    let port: u16 = tokio::fs::read_to_string(data_dir.join(PORT_FILE)).await.ok()?.trim().parse().ok()?;
    match probe(port, data_dir).await {
        Ok(()) => Some(port),
        Err(e) => {
            tracing::debug!(port, "existing PostgreSQL not usable: {e:#}");
            None
        }
    }
}

/// Checks that the server on `port` accepts connections, answers `SELECT 1` and runs from
/// `data_dir` (and not some other server that happens to listen there).
pub(crate) async fn probe(port: u16, data_dir: &Path) -> anyhow::Result<()> {
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    tokio::time::timeout(Duration::from_secs(2), tokio::net::TcpStream::connect(addr))
        .await
        .map_err(|_| anyhow!("TCP connect to {addr} timed out"))?
        .with_context(|| format!("TCP connect to {addr}"))?;

    let mut config = tokio_postgres::Config::new();
    config
        .host("127.0.0.1")
        .port(port)
        .user(SUPERUSER)
        .dbname("postgres")
        .connect_timeout(Duration::from_secs(5));
    let admin = tokio::time::timeout(Duration::from_secs(5), Admin::open(&config))
        .await
        .map_err(|_| anyhow!("connecting to PostgreSQL on port {port} timed out"))?
        .with_context(|| format!("connecting to PostgreSQL on port {port}"))?;
    let result = async {
        let row = admin
            .client()
            .query_one("SELECT 1, current_setting('data_directory')", &[])
            .await
            .context("SELECT 1")?;
        let one: i32 = row.get(0);
        let dir: String = row.get(1);
        if one != 1 {
            bail!("SELECT 1 returned {one}");
        }
        if !same_path(Path::new(&dir), data_dir) {
            bail!("the server on port {port} runs from {dir}, not from {}", data_dir.display());
        }
        Ok(())
    }
    .await;
    admin.close().await;
    result
}

/// Whether `a` and `b` name the same directory (compared as given when either cannot be
/// resolved).
pub(crate) fn same_path(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// Waits until the server on `port` passes [`probe`], up to [`READY_TIMEOUT`].
pub(crate) async fn wait_ready(port: u16, data_dir: &Path) -> anyhow::Result<()> {
    let deadline = Instant::now() + READY_TIMEOUT;
    loop {
        match probe(port, data_dir).await {
            Ok(()) => return Ok(()),
            Err(e) if Instant::now() >= deadline => {
                return Err(e.context(format!(
                    "PostgreSQL on port {port} did not accept connections within {}s",
                    READY_TIMEOUT.as_secs()
                )));
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}
