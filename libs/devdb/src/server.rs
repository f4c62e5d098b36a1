//! [`PrivatePostgres`], the handle on a private server: reuse the one running from a data
//! directory or initialize and start one, its URLs, and stopping it. See the crate docs for why
//! it works this way.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context as _, anyhow};
use sha2::{Digest as _, Sha256};

use crate::SUPERUSER;
use crate::admin::percent_encode;
use crate::binaries::PgBins;
use crate::cluster::{self, StartError};
use crate::port::pick_port;
use crate::probe::running_port;
use crate::runner::{Runner, run_checked};

/// How long [`PrivatePostgres::start`] waits for the server to accept connections.
pub(crate) const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// How many times a start is retried on another port when the chosen one was taken meanwhile.
const START_ATTEMPTS: usize = 4;

/// A PostgreSQL server running from a private data directory. See the crate docs.
#[derive(Debug)]
pub struct PrivatePostgres {
    data_dir: PathBuf,
    port: u16,
    runner: Runner,
    stop_on_drop: bool,
    stopped: bool,
}

impl PrivatePostgres {
    /// Reuses a server already running from `data_dir` (postmaster.pid + port file + it accepts
    /// connections); otherwise runs `initdb` (if there is no `PG_VERSION` yet) and starts one.
    /// Returns once the server accepts connections (TCP connect and a real `SELECT 1`, up to
    /// 30 s). Concurrent calls for one directory, from any process, are serialized.
    ///
    /// Server settings for a dev/test box: fsync stays on, `max_connections = 300`,
    /// `shared_buffers = 128MB`, log to `postgresql.log` in the data directory.
    pub async fn start(data_dir: &Path) -> anyhow::Result<Self> {
        let data_dir =
            std::path::absolute(data_dir).with_context(|| format!("resolving {}", data_dir.display()))?;
        let name = data_dir
            .file_name()
            .ok_or_else(|| anyhow!("data directory {} has no name", data_dir.display()))?
            .to_owned();
        let parent = data_dir
            .parent()
            .ok_or_else(|| anyhow!("data directory {} has no parent", data_dir.display()))?
            .to_owned();
        tokio::fs::create_dir_all(&parent).await.with_context(|| format!("creating {}", parent.display()))?;

        // As root the server runs as `postgres`, which may not be able to reach a checkout under
        // a private home directory (0700): then the cluster lives in the system temporary
        // directory instead, under a name derived from the requested path (stable across runs).
        let runner = Runner::detect().await?;
        let (data_dir, parent) = if runner.can_search(&parent).await {
            (data_dir, parent)
        } else {
            let digest = Sha256::digest(data_dir.as_os_str().as_encoded_bytes());
            let key: String = digest.iter().take(6).map(|b| format!("{b:02x}")).collect();
            let parent = std::env::temp_dir().join(format!("operant-pg-{key}"));
            tracing::warn!(
                requested = %data_dir.display(),
                used = %parent.join(&name).display(),
                "the postgres user cannot reach the requested data directory; using the temporary directory"
            );
            tokio::fs::create_dir_all(&parent)
                .await
                .with_context(|| format!("creating {}", parent.display()))?;
            (parent.join(&name), parent)
        };

        // Held (the lock lives as long as the open file) until this function returns.
        let _lock = lock_exclusive(&cluster::sibling(&parent, &name, ".lock")).await?;
        if let Some(port) = running_port(&data_dir).await {
            tracing::debug!(data_dir = %data_dir.display(), port, "reusing private PostgreSQL");
            return Ok(Self::new(data_dir, port, runner));
        }

        let bins = PgBins::find(&data_dir).await?;
        if !data_dir.join("PG_VERSION").exists() {
            cluster::init(&bins, &runner, &data_dir, &parent, &name).await?;
        } else if let Some(port) = cluster::clear_stale_postmaster(&bins, &runner, &data_dir).await? {
            return Ok(Self::new(data_dir, port, runner));
        }

        let mut last_error = None;
        let mut avoid = Vec::new();
        for _ in 0..START_ATTEMPTS {
            let port = pick_port(&data_dir, &avoid)?;
            match cluster::start_on_port(&bins, &runner, &data_dir, port).await {
                Ok(()) => {
                    tracing::info!(data_dir = %data_dir.display(), port, "started private PostgreSQL");
                    return Ok(Self::new(data_dir, port, runner));
                }
                Err(StartError::PortTaken(e)) => {
                    tracing::warn!(port, "port taken while starting PostgreSQL, retrying: {e:#}");
                    avoid.push(port);
                    last_error = Some(e);
                }
                Err(StartError::Other(e)) => return Err(e),
            }
        }
        Err(last_error
            .unwrap_or_else(|| anyhow!("no start attempt was made"))
            .context(format!("starting PostgreSQL in {}: every port tried was taken", data_dir.display())))
    }

    fn new(data_dir: PathBuf, port: u16, runner: Runner) -> Self {
        Self { data_dir, port, runner, stop_on_drop: false, stopped: false }
    }

    /// `postgres://postgres@127.0.0.1:PORT/postgres`
    pub fn url(&self) -> String {
        self.url_for("postgres")
    }

    /// URL of another database on the same server.
    pub fn url_for(&self, database: &str) -> String {
        format!("postgres://{SUPERUSER}@127.0.0.1:{}/{}", self.port, percent_encode(database))
    }

    /// The TCP port the server listens on (127.0.0.1 only).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The data directory of the server.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// Whether dropping this handle stops the server. Default false: the server is meant to be
    /// shared by several processes (e.g. test binaries) and outlive each of them.
    pub fn stop_on_drop(&mut self, yes: bool) {
        self.stop_on_drop = yes;
    }

    /// `pg_ctl stop -m fast`, and waits until the server has exited.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        self.stopped = true;
        let bins = PgBins::find(&self.data_dir).await?;
        let cmd = self.runner.command(&bins.pg_ctl, &cluster::stop_args(&self.data_dir));
        run_checked(cmd.into(), "stopping PostgreSQL").await?;
        Ok(())
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        if !self.stop_on_drop || self.stopped {
            return;
        }
        // Drop cannot be async; pg_ctl is a short-lived child, so waiting for it synchronously
        // is acceptable here.
        let Some(pg_ctl) = PgBins::any_pg_ctl() else {
            tracing::warn!("cannot stop PostgreSQL on drop: pg_ctl not found");
            return;
        };
        let mut cmd = self.runner.command(&pg_ctl, &cluster::stop_args(&self.data_dir));
        match cmd.output() {
            Ok(out) if out.status.success() => {}
            Ok(out) => tracing::warn!(
                "stopping PostgreSQL on drop failed ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ),
            Err(e) => tracing::warn!("stopping PostgreSQL on drop failed: {e}"),
        }
    }
}

/// Takes an exclusive lock on `path` (created if missing), waiting for other holders.
async fn lock_exclusive(path: &Path) -> anyhow::Result<std::fs::File> {
    let path = path.to_owned();
    tokio::task::spawn_blocking(move || {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .with_context(|| format!("opening lock file {}", path.display()))?;
        file.lock().with_context(|| format!("locking {}", path.display()))?;
        Ok(file)
    })
    .await
    .context("lock task panicked")?
}
