//! A private PostgreSQL server started from the installed server binaries.
//!
//! Why: tests and local development need a real PostgreSQL (the services rely on its
//! constraints, locking and transactions, so a fake or SQLite would hide bugs), but they must
//! not depend on a server someone else manages, on Docker, or on a system service. The only
//! requirement is that the PostgreSQL server binaries (`initdb`, `pg_ctl`, `postgres`) are
//! installed: [`PrivatePostgres::start`] creates a cluster in a directory of our choosing,
//! starts it on a free loopback port and hands back its URL.
//!
//! Design choices:
//!
//! - **Shared across processes.** Test runners such as nextest run every test in its own
//!   process; starting a cluster per test would cost seconds each. The server therefore
//!   outlives the process that started it (it runs in its own process group, so a runner
//!   killing a timed-out test's group does not take it down), later callers reuse it, and it is
//!   only stopped on request ([`PrivatePostgres::stop`], [`PrivatePostgres::stop_on_drop`]).
//!   Concurrent [`PrivatePostgres::start`] calls on one directory, from any process, are
//!   serialized by an exclusive lock on the sibling file `<data_dir>.lock`.
//! - **Crash-safe initialization.** `initdb` runs into a temporary sibling directory that is
//!   renamed into place only once it is complete, so an interrupted `initdb` never leaves a
//!   half-made cluster behind.
//! - **Durable.** `fsync`, `synchronous_commit` and `full_page_writes` stay on: an
//!   acknowledged write survives a crash, as it does in production, so tests exercise the real
//!   commit path.
//! - **Root.** `initdb` and `postgres` refuse to run as root. When the effective user is root
//!   (CI, containers), the data directory is given to the `postgres` user and every server
//!   command runs as that user through `runuser` (or `su`).
//! - **Isolated.** The server listens on 127.0.0.1 only, on a port below the Linux ephemeral
//!   range (32768–60999) so outgoing connections cannot steal it, chosen from a hash of the data
//!   directory path so that the same directory tends to get the same port. Its unix socket
//!   lives in the data directory, never in the shared `/var/run/postgresql`.
//!
//! The settings written on every start live in `<data_dir>/operant.conf` (included from
//! `postgresql.conf`), the chosen port in `<data_dir>/operant.port` and the server log in
//! `<data_dir>/postgresql.log`.

use std::ffi::{OsStr, OsString};
use std::fmt::Write as _;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::str::FromStr as _;
use std::time::{Duration, Instant};

use anyhow::{Context as _, anyhow, bail};
use sha2::{Digest as _, Sha256};
use tokio_postgres::NoTls;

/// How long [`PrivatePostgres::start`] waits for the server to accept connections.
const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// Ports are picked in `PORT_RANGE_START..PORT_RANGE_END`, below the ephemeral range.
const PORT_RANGE_START: u16 = 20000;
const PORT_RANGE_END: u16 = 32000;
/// How many candidate ports are probed before giving up.
const PORT_PROBES: u16 = 500;
/// How many times a start is retried on another port when the chosen one was taken meanwhile.
const START_ATTEMPTS: usize = 4;
/// Linux `sun_path` holds 108 bytes including the terminating NUL.
const MAX_SOCKET_PATH: usize = 107;

const CONF_FILE: &str = "operant.conf";
const PORT_FILE: &str = "operant.port";
const LOG_FILE: &str = "postgresql.log";
const SUPERUSER: &str = "postgres";

/// A PostgreSQL server running from a private data directory. See the module docs.
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
        let _lock = lock_exclusive(&sibling(&parent, &name, ".lock")).await?;
        if let Some(port) = running_port(&data_dir).await {
            tracing::debug!(data_dir = %data_dir.display(), port, "reusing private PostgreSQL");
            return Ok(Self::new(data_dir, port, runner));
        }

        let bins = PgBins::find(&data_dir).await?;
        if !data_dir.join("PG_VERSION").exists() {
            init_cluster(&bins, &runner, &data_dir, &parent, &name).await?;
        } else if let Some(port) = clear_stale_postmaster(&bins, &runner, &data_dir).await? {
            return Ok(Self::new(data_dir, port, runner));
        }

        let mut last_error = None;
        let mut avoid = Vec::new();
        for _ in 0..START_ATTEMPTS {
            let port = pick_port(&data_dir, &avoid)?;
            match start_on_port(&bins, &runner, &data_dir, port).await {
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
        let cmd = self.runner.command(&bins.pg_ctl, &stop_args(&self.data_dir));
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
        let Some(pg_ctl) =
            PgBins::candidates().into_iter().map(|dir| dir.join("pg_ctl")).find(|p| p.is_file())
        else {
            tracing::warn!("cannot stop PostgreSQL on drop: pg_ctl not found");
            return;
        };
        let mut cmd = self.runner.command(&pg_ctl, &stop_args(&self.data_dir));
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

/// Creates database `name` if missing (connects to the `postgres` database of the URL's
/// server).
pub async fn ensure_database(server_url: &str, name: &str) -> anyhow::Result<()> {
    let mut config = tokio_postgres::Config::from_str(server_url)
        .with_context(|| format!("parsing database URL {server_url}"))?;
    config.dbname("postgres");
    config.connect_timeout(Duration::from_secs(10));
    let (client, connection) = config
        .connect(NoTls)
        .await
        .with_context(|| format!("connecting to the postgres database of {server_url}"))?;
    let connection = tokio::spawn(connection);

    let result = async {
        let exists = client
            .query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&name])
            .await
            .context("looking up the database")?
            .is_some();
        if !exists {
            let sql = format!("CREATE DATABASE {}", quote_ident(name));
            match client.batch_execute(&sql).await {
                Ok(()) => tracing::info!(database = name, "created database"),
                // Created concurrently by someone else: that is what we wanted.
                Err(e) if e.code() == Some(&tokio_postgres::error::SqlState::DUPLICATE_DATABASE) => {}
                // CREATE DATABASE can also lose the race on the catalog's unique index.
                Err(e) if e.code() == Some(&tokio_postgres::error::SqlState::UNIQUE_VIOLATION) => {}
                Err(e) => return Err(anyhow::Error::new(e).context(sql)),
            }
        }
        Ok(())
    }
    .await;
    drop(client);
    let _ = connection.await;
    result.with_context(|| format!("ensuring database {name:?} exists"))
}

/// `server_url` with its database replaced by `database`, keeping user, host, port and query
/// parameters: `postgres://u@h:5432/postgres?sslmode=disable` → `postgres://u@h:5432/db?sslmode=disable`.
pub fn url_with_database(server_url: &str, database: &str) -> anyhow::Result<String> {
    let (scheme, rest) = server_url.split_once("://").ok_or_else(|| {
        anyhow!("{server_url:?} is not a postgres://… URL (key=value strings are not supported)")
    })?;
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let query = tail.find('?').map_or("", |i| &tail[i..]);
    Ok(format!("{scheme}://{authority}/{}{query}", percent_encode(database)))
}

/// Quotes an SQL identifier (`"` doubled inside double quotes).
fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Percent-encodes everything but RFC 3986 unreserved characters, for a URL path segment.
fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

fn sibling(parent: &Path, name: &OsStr, suffix: &str) -> PathBuf {
    let mut file = name.to_owned();
    file.push(suffix);
    parent.join(file)
}

fn stop_args(data_dir: &Path) -> Vec<OsString> {
    vec![
        "stop".into(),
        "-D".into(),
        data_dir.into(),
        "-m".into(),
        "fast".into(),
        "-w".into(),
        "-t".into(),
        "60".into(),
    ]
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

/// The port of a server running from `data_dir` that accepts connections, if any.
async fn running_port(data_dir: &Path) -> Option<u16> {
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
async fn probe(port: u16, data_dir: &Path) -> anyhow::Result<()> {
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
    let (client, connection) = tokio::time::timeout(Duration::from_secs(5), config.connect(NoTls))
        .await
        .map_err(|_| anyhow!("connecting to PostgreSQL on port {port} timed out"))?
        .with_context(|| format!("connecting to PostgreSQL on port {port}"))?;
    let connection = tokio::spawn(connection);
    let result = async {
        let row =
            client.query_one("SELECT 1, current_setting('data_directory')", &[]).await.context("SELECT 1")?;
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
    drop(client);
    let _ = connection.await;
    result
}

fn same_path(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// Waits until the server on `port` passes [`probe`], up to [`READY_TIMEOUT`].
async fn wait_ready(port: u16, data_dir: &Path) -> anyhow::Result<()> {
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

/// Deals with a `postmaster.pid` left in a data directory whose server did not answer on the
/// port file's port. If its process is gone, or is not a postgres running from this directory
/// (the pid was reused after a reboot), the file is removed. If it is our server, it is used
/// when it becomes usable on the port it recorded (`Some(port)`), else stopped.
async fn clear_stale_postmaster(
    bins: &PgBins,
    runner: &Runner,
    data_dir: &Path,
) -> anyhow::Result<Option<u16>> {
    let pid_file = data_dir.join("postmaster.pid");
    let Ok(contents) = tokio::fs::read_to_string(&pid_file).await else {
        return Ok(None);
    };
    let mut lines = contents.lines();
    let pid = lines.next().and_then(|l| l.trim().parse::<u32>().ok());
    let pid_port = lines.nth(2).and_then(|l| l.trim().parse::<u16>().ok());
    let ours = pid.is_some_and(|pid| {
        let proc_dir = PathBuf::from(format!("/proc/{pid}"));
        let is_postgres = std::fs::read_to_string(proc_dir.join("comm"))
            .is_ok_and(|comm| comm.trim().starts_with("postgres"));
        let cwd_ok = std::fs::read_link(proc_dir.join("cwd")).is_ok_and(|cwd| same_path(&cwd, data_dir));
        is_postgres && cwd_ok
    });
    if !ours {
        tracing::info!(pid_file = %pid_file.display(), "removing stale postmaster.pid");
        tokio::fs::remove_file(&pid_file)
            .await
            .with_context(|| format!("removing stale {}", pid_file.display()))?;
        // The socket lock files name the same dead pid; postgres refuses to start if that pid
        // is alive again (reused after a reboot, or a zombie not yet reaped).
        let mut entries =
            tokio::fs::read_dir(data_dir).await.with_context(|| format!("reading {}", data_dir.display()))?;
        while let Some(entry) = entries.next_entry().await? {
            if entry.file_name().to_string_lossy().starts_with(".s.PGSQL.") {
                let path = entry.path();
                tokio::fs::remove_file(&path)
                    .await
                    .with_context(|| format!("removing stale {}", path.display()))?;
            }
        }
        return Ok(None);
    }
    // A server of ours is running (maybe still starting up, or its port file is out of
    // date): use it if it becomes usable, else stop it so that a fresh start can follow.
    if let Some(port) = pid_port
        && wait_ready(port, data_dir).await.is_ok()
    {
        write_owned(runner, &data_dir.join(PORT_FILE), &format!("{port}\n")).await?;
        return Ok(Some(port));
    }
    tracing::warn!(data_dir = %data_dir.display(), "stopping an unresponsive private PostgreSQL");
    let cmd = runner.command(&bins.pg_ctl, &stop_args(data_dir));
    run_checked(cmd.into(), "stopping an unresponsive PostgreSQL").await?;
    Ok(None)
}

/// Runs `initdb` into a temporary sibling of `data_dir` and renames it into place.
async fn init_cluster(
    bins: &PgBins,
    runner: &Runner,
    data_dir: &Path,
    parent: &Path,
    name: &OsStr,
) -> anyhow::Result<()> {
    if data_dir.exists() {
        let mut entries =
            tokio::fs::read_dir(data_dir).await.with_context(|| format!("reading {}", data_dir.display()))?;
        if entries.next_entry().await?.is_some() {
            bail!(
                "{} exists, is not empty and is not a PostgreSQL data directory (no PG_VERSION): \
                 remove it or choose another directory",
                data_dir.display()
            );
        }
    }
    let tmp = sibling(parent, name, ".initdb-tmp");
    if tmp.exists() {
        tokio::fs::remove_dir_all(&tmp)
            .await
            .with_context(|| format!("removing leftover {}", tmp.display()))?;
    }
    tokio::fs::create_dir(&tmp).await.with_context(|| format!("creating {}", tmp.display()))?;
    tokio::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o700))
        .await
        .with_context(|| format!("chmod 700 {}", tmp.display()))?;
    runner.give(&tmp)?;
    runner.check_reachable(&tmp).await?;

    // C.UTF-8 gives UTF-8 character semantics (lower(), regexes) with bytewise, fast and
    // machine-independent collation; plain C (still UTF-8 encoded) where it is missing.
    let locale = if Path::new("/usr/lib/locale/C.utf8").exists() { "C.UTF-8" } else { "C" };
    let args: Vec<OsString> = vec![
        "-D".into(),
        tmp.clone().into(),
        "-U".into(),
        SUPERUSER.into(),
        "--auth=trust".into(),
        "--encoding=UTF8".into(),
        format!("--locale={locale}").into(),
    ];
    let cmd = runner.command(&bins.initdb, &args);
    run_checked(cmd.into(), "initializing the PostgreSQL data directory").await?;

    // Our settings live in their own file, rewritten on every start.
    let conf = tmp.join("postgresql.conf");
    let mut text =
        tokio::fs::read_to_string(&conf).await.with_context(|| format!("reading {}", conf.display()))?;
    text.push_str("\n# Operant: settings written by operant-platform devdb on every start.\n");
    let _ = writeln!(text, "include_if_exists = '{CONF_FILE}'");
    tokio::fs::write(&conf, text).await.with_context(|| format!("writing {}", conf.display()))?;

    if data_dir.exists() {
        // Empty (checked above): rename(2) cannot replace a directory on every filesystem.
        tokio::fs::remove_dir(data_dir)
            .await
            .with_context(|| format!("removing empty {}", data_dir.display()))?;
    }
    tokio::fs::rename(&tmp, data_dir)
        .await
        .with_context(|| format!("renaming {} to {}", tmp.display(), data_dir.display()))?;
    tracing::info!(data_dir = %data_dir.display(), "initialized PostgreSQL data directory");
    Ok(())
}

enum StartError {
    PortTaken(anyhow::Error),
    Other(anyhow::Error),
}

/// Writes the settings for `port` and starts the server, waiting until it is usable.
async fn start_on_port(bins: &PgBins, runner: &Runner, data_dir: &Path, port: u16) -> Result<(), StartError> {
    let prepare = async {
        write_owned(runner, &data_dir.join(CONF_FILE), &server_conf(data_dir, port)).await?;
        write_owned(runner, &data_dir.join(PORT_FILE), &format!("{port}\n")).await
    };
    prepare.await.map_err(StartError::Other)?;

    let log = data_dir.join(LOG_FILE);
    let log_len_before = std::fs::metadata(&log).map(|m| m.len()).unwrap_or(0);
    let args: Vec<OsString> = vec![
        "start".into(),
        "-D".into(),
        data_dir.into(),
        "-l".into(),
        log.clone().into(),
        "-w".into(),
        "-t".into(),
        READY_TIMEOUT.as_secs().to_string().into(),
    ];
    let cmd = runner.command(&bins.pg_ctl, &args);
    let started = run_checked(cmd.into(), "starting PostgreSQL").await;
    if let Err(e) = started {
        let tail = log_tail(&log, log_len_before);
        let e = e.context(format!("server log {}:\n{tail}", log.display()));
        return Err(if tail.contains("could not bind") || tail.contains("already in use") {
            StartError::PortTaken(e)
        } else {
            StartError::Other(e)
        });
    }
    wait_ready(port, data_dir).await.map_err(|e| {
        let tail = log_tail(&log, log_len_before);
        StartError::Other(e.context(format!("server log {}:\n{tail}", log.display())))
    })
}

/// The last lines the server logged since `from` bytes.
fn log_tail(log: &Path, from: u64) -> String {
    let Ok(bytes) = std::fs::read(log) else {
        return "(no log)".to_owned();
    };
    let start = usize::try_from(from).unwrap_or(0).min(bytes.len());
    let text = String::from_utf8_lossy(&bytes[start..]);
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}

/// Writes `contents` to `path`, owned by the server's user.
async fn write_owned(runner: &Runner, path: &Path, contents: &str) -> anyhow::Result<()> {
    tokio::fs::write(path, contents).await.with_context(|| format!("writing {}", path.display()))?;
    runner.give(path)
}

fn server_conf(data_dir: &Path, port: u16) -> String {
    let dir = data_dir.to_string_lossy();
    // The socket lives in the data directory unless its path would be too long for a unix
    // socket address; TCP on 127.0.0.1 is what clients use anyway.
    let socket_len = dir.len() + "/.s.PGSQL.".len() + port.to_string().len();
    let socket_dir = if socket_len <= MAX_SOCKET_PATH { dir.replace('\'', "''") } else { String::new() };
    format!(
        "# Written by operant-platform devdb on every start; edits are overwritten.\n\
         listen_addresses = '127.0.0.1'\n\
         port = {port}\n\
         unix_socket_directories = '{socket_dir}'\n\
         max_connections = 300\n\
         shared_buffers = 128MB\n\
         # Durability as in production: acknowledged writes survive a crash.\n\
         fsync = on\n\
         synchronous_commit = on\n\
         full_page_writes = on\n"
    )
}

/// A free port below the ephemeral range, probed by binding 127.0.0.1, scanning from a port
/// derived from the data directory path.
fn pick_port(data_dir: &Path, avoid: &[u16]) -> anyhow::Result<u16> {
    let digest = Sha256::digest(data_dir.as_os_str().as_encoded_bytes());
    let span = PORT_RANGE_END - PORT_RANGE_START;
    let offset = u16::from_be_bytes([digest[0], digest[1]]) % span;
    for i in 0..PORT_PROBES {
        let port = PORT_RANGE_START + (offset + i) % span;
        if avoid.contains(&port) {
            continue;
        }
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return Ok(port);
        }
    }
    bail!(
        "no free port found on 127.0.0.1 in {PORT_RANGE_START}..{PORT_RANGE_END} after {PORT_PROBES} probes"
    )
}

/// Runs a command, failing with its command line, exit status and output.
async fn run_checked(mut cmd: tokio::process::Command, what: &str) -> anyhow::Result<Output> {
    let line = command_line(cmd.as_std());
    cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).kill_on_drop(true);
    let out = cmd.output().await.with_context(|| format!("{what}: running `{line}`"))?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let stdout = String::from_utf8_lossy(&out.stdout);
        bail!("{what}: `{line}` failed ({}):\n{}\n{}", out.status, stderr.trim(), stdout.trim());
    }
    Ok(out)
}

fn command_line(cmd: &std::process::Command) -> String {
    let mut line = cmd.get_program().to_string_lossy().into_owned();
    for arg in cmd.get_args() {
        line.push(' ');
        line.push_str(&arg.to_string_lossy());
    }
    line
}

/// Quotes `s` for `/bin/sh`.
fn shell_quote(s: &OsStr) -> String {
    format!("'{}'", s.to_string_lossy().replace('\'', "'\\''"))
}

/// Where the PostgreSQL server binaries are.
#[derive(Debug)]
struct PgBins {
    initdb: PathBuf,
    pg_ctl: PathBuf,
}

impl PgBins {
    /// Directories that may hold the binaries: `PATH`, then `/usr/lib/postgresql/*/bin`
    /// (newest major version first).
    fn candidates() -> Vec<PathBuf> {
        let mut dirs: Vec<PathBuf> =
            std::env::var_os("PATH").map(|p| std::env::split_paths(&p).collect()).unwrap_or_default();
        let mut versioned: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| {
                let version = e.file_name().to_str()?.parse::<u32>().ok()?;
                Some((version, e.path().join("bin")))
            })
            .collect();
        versioned.sort_by_key(|(version, _)| std::cmp::Reverse(*version));
        dirs.extend(versioned.into_iter().map(|(_, dir)| dir));
        dirs
    }

    /// Finds a directory with `initdb`, `pg_ctl` and `postgres`, preferring the major version
    /// of an existing cluster in `data_dir`.
    async fn find(data_dir: &Path) -> anyhow::Result<Self> {
        let wanted = std::fs::read_to_string(data_dir.join("PG_VERSION")).ok().map(|v| v.trim().to_owned());
        let mut seen = Vec::new();
        let mut found = Vec::new();
        for dir in Self::candidates() {
            let pg_ctl = dir.join("pg_ctl");
            if !pg_ctl.is_file() {
                continue;
            }
            // Symlinks (e.g. /usr/local/bin/pg_ctl) lead to the real directory, where the
            // three binaries of one version live together.
            let real = std::fs::canonicalize(&pg_ctl)
                .ok()
                .and_then(|p| p.parent().map(Path::to_path_buf))
                .unwrap_or(dir);
            if seen.contains(&real) {
                continue;
            }
            seen.push(real.clone());
            if real.join("initdb").is_file() && real.join("postgres").is_file() {
                found.push(real);
            }
        }
        if found.is_empty() {
            bail!(
                "PostgreSQL server binaries (initdb, pg_ctl, postgres) not found in PATH or \
                 /usr/lib/postgresql/*/bin: install the PostgreSQL server (e.g. `apt-get install \
                 postgresql`)"
            );
        }
        let mut versions = Vec::new();
        for dir in &found {
            let version = major_version(&dir.join("pg_ctl")).await;
            if wanted.is_none() || version.as_deref() == wanted.as_deref() {
                return Ok(Self { initdb: dir.join("initdb"), pg_ctl: dir.join("pg_ctl") });
            }
            versions.push(format!("{} ({})", dir.display(), version.as_deref().unwrap_or("unknown version")));
        }
        bail!(
            "{} holds a PostgreSQL {} cluster but only these server binaries were found: {}; \
             install PostgreSQL {0} or remove the directory",
            data_dir.display(),
            wanted.as_deref().unwrap_or("?"),
            versions.join(", ")
        )
    }
}

/// `pg_ctl (PostgreSQL) 15.8 (Debian 15.8-1)` → `15` (`9.6` for old versions).
async fn major_version(pg_ctl: &Path) -> Option<String> {
    let out =
        tokio::process::Command::new(pg_ctl).arg("--version").stdin(Stdio::null()).output().await.ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let version = text.split_whitespace().nth(2)?;
    let mut parts = version.split(|c: char| !c.is_ascii_digit());
    let major = parts.next()?;
    if major.parse::<u32>().ok()? >= 10 {
        Some(major.to_owned())
    } else {
        Some(format!("{major}.{}", parts.next()?))
    }
}

/// How server commands are run: directly, or as the `postgres` user when we are root.
#[derive(Debug, Clone)]
enum Runner {
    CurrentUser,
    Postgres { uid: u32, gid: u32, runuser: Option<PathBuf> },
}

impl Runner {
    async fn detect() -> anyhow::Result<Self> {
        if effective_uid().await? != 0 {
            return Ok(Self::CurrentUser);
        }
        let (uid, gid) = postgres_user().await?;
        let runuser = ["/usr/sbin", "/sbin", "/usr/bin", "/bin"]
            .iter()
            .map(|d| Path::new(d).join("runuser"))
            .chain(
                std::env::var_os("PATH")
                    .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
                    .unwrap_or_default()
                    .into_iter()
                    .map(|d| d.join("runuser")),
            )
            .find(|p| p.is_file());
        Ok(Self::Postgres { uid, gid, runuser })
    }

    /// A command running `program args` as the server's user, in its own process group (so
    /// that signals meant for the caller's group, e.g. a test runner's timeout, do not reach
    /// the server), from `/` (the caller's directory may not be readable by that user).
    fn command(&self, program: &Path, args: &[OsString]) -> std::process::Command {
        use std::os::unix::process::CommandExt as _;
        let mut cmd = match self {
            Self::CurrentUser => {
                let mut cmd = std::process::Command::new(program);
                cmd.args(args);
                cmd
            }
            Self::Postgres { runuser: Some(runuser), .. } => {
                let mut cmd = std::process::Command::new(runuser);
                cmd.args(["-u", "postgres", "--"]).arg(program).args(args);
                cmd
            }
            Self::Postgres { runuser: None, .. } => {
                let mut script = shell_quote(program.as_os_str());
                for arg in args {
                    script.push(' ');
                    script.push_str(&shell_quote(arg));
                }
                let mut cmd = std::process::Command::new("su");
                cmd.args(["postgres", "-s", "/bin/sh", "-c"]).arg(script);
                cmd
            }
        };
        cmd.current_dir("/").process_group(0);
        cmd
    }

    /// Gives `path` to the server's user (a no-op unless we are root).
    fn give(&self, path: &Path) -> anyhow::Result<()> {
        if let Self::Postgres { uid, gid, .. } = self {
            std::os::unix::fs::chown(path, Some(*uid), Some(*gid))
                .with_context(|| format!("chown postgres {}", path.display()))?;
        }
        Ok(())
    }

    /// Whether the server's user can search `dir` (and so every directory above it).
    async fn can_search(&self, dir: &Path) -> bool {
        if matches!(self, Self::CurrentUser) {
            return true;
        }
        let args: Vec<OsString> = vec!["-x".into(), dir.into()];
        let cmd = self.command(Path::new("test"), &args);
        tokio::process::Command::from(cmd)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .await
            .is_ok_and(|s| s.success())
    }

    /// Fails clearly when the server's user cannot reach `dir` (a parent directory without
    /// search permission for it, e.g. a checkout under a 0700 home directory).
    async fn check_reachable(&self, dir: &Path) -> anyhow::Result<()> {
        if matches!(self, Self::CurrentUser) {
            return Ok(());
        }
        let args: Vec<OsString> = vec!["-w".into(), dir.into()];
        let cmd = self.command(Path::new("test"), &args);
        let ok = tokio::process::Command::from(cmd)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .await
            .is_ok_and(|s| s.success());
        if !ok {
            bail!(
                "the postgres user cannot write to {}: every parent directory must be searchable \
                 by it (chmod o+x), since PostgreSQL refuses to run as root",
                dir.display()
            );
        }
        Ok(())
    }
}

/// The effective user id, from `/proc/self/status` (no libc: unsafe code is forbidden here),
/// else from `id -u`.
async fn effective_uid() -> anyhow::Result<u32> {
    if let Ok(status) = tokio::fs::read_to_string("/proc/self/status").await
        && let Some(euid) = status
            .lines()
            .find_map(|l| l.strip_prefix("Uid:"))
            .and_then(|ids| ids.split_whitespace().nth(1))
            .and_then(|id| id.parse().ok())
    {
        return Ok(euid);
    }
    let out = tokio::process::Command::new("id")
        .arg("-u")
        .stdin(Stdio::null())
        .output()
        .await
        .context("running `id -u`")?;
    String::from_utf8_lossy(&out.stdout).trim().parse().context("parsing the output of `id -u`")
}

/// uid and gid of the `postgres` user, from `/etc/passwd` or `getent passwd postgres`.
async fn postgres_user() -> anyhow::Result<(u32, u32)> {
    fn parse(line: &str) -> Option<(u32, u32)> {
        let mut fields = line.split(':');
        if fields.next()? != "postgres" {
            return None;
        }
        let _password = fields.next()?;
        Some((fields.next()?.parse().ok()?, fields.next()?.parse().ok()?))
    }
    if let Ok(passwd) = tokio::fs::read_to_string("/etc/passwd").await
        && let Some(ids) = passwd.lines().find_map(parse)
    {
        return Ok(ids);
    }
    let getent = tokio::process::Command::new("getent")
        .args(["passwd", "postgres"])
        .stdin(Stdio::null())
        .output()
        .await;
    if let Ok(out) = getent
        && let Some(ids) = String::from_utf8_lossy(&out.stdout).lines().find_map(parse)
    {
        return Ok(ids);
    }
    bail!(
        "running as root, which PostgreSQL refuses, and there is no `postgres` user to run it as: \
         create one (`useradd --system --user-group postgres`) or run as a non-root user"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_identifiers() {
        assert_eq!(quote_ident("plain"), "\"plain\"");
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
    }

    #[test]
    fn encodes_database_names() {
        assert_eq!(percent_encode("operant_test_1"), "operant_test_1");
        assert_eq!(percent_encode("a b/c"), "a%20b%2Fc");
    }

    #[test]
    fn replaces_the_database_of_a_url() -> anyhow::Result<()> {
        assert_eq!(
            url_with_database("postgres://postgres@127.0.0.1:5432/postgres", "x")?,
            "postgres://postgres@127.0.0.1:5432/x"
        );
        assert_eq!(
            url_with_database("postgresql://u:p@h/db?sslmode=disable", "y z")?,
            "postgresql://u:p@h/y%20z?sslmode=disable"
        );
        assert_eq!(url_with_database("postgres://h:1", "d")?, "postgres://h:1/d");
        assert_eq!(url_with_database("postgres://h?x=1", "d")?, "postgres://h/d?x=1");
        assert!(url_with_database("host=h dbname=d", "d").is_err());
        Ok(())
    }

    #[test]
    fn quotes_for_the_shell() {
        assert_eq!(shell_quote(OsStr::new("it's")), "'it'\\''s'");
    }

    #[test]
    fn picks_a_port_below_the_ephemeral_range() {
        let port = pick_port(Path::new("/tmp/some/dir"), &[]).expect("a free port");
        assert!((PORT_RANGE_START..PORT_RANGE_END).contains(&port));
    }

    #[test]
    fn conf_disables_the_socket_for_long_paths() {
        let long = PathBuf::from(format!("/{}", "x".repeat(120)));
        assert!(server_conf(&long, 20001).contains("unix_socket_directories = ''"));
        assert!(server_conf(Path::new("/d"), 20001).contains("unix_socket_directories = '/d'"));
    }
}
