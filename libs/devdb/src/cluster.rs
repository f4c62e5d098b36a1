//! The data directory's life cycle: `initdb` into a temporary sibling renamed into place when
//! complete, the settings file written on every start, `pg_ctl start` on a chosen port and
//! `pg_ctl stop`, and a `postmaster.pid` left behind by a server that is gone.

use std::ffi::{OsStr, OsString};
use std::fmt::Write as _;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};

use crate::SUPERUSER;
use crate::binaries::PgBins;
use crate::probe::{same_path, wait_ready};
use crate::runner::{Runner, run_checked};
use crate::server::READY_TIMEOUT;

/// Linux `sun_path` holds 108 bytes including the terminating NUL.
const MAX_SOCKET_PATH: usize = 107;

const CONF_FILE: &str = "operant.conf";
pub(crate) const PORT_FILE: &str = "operant.port";
const LOG_FILE: &str = "postgresql.log";

/// `<parent>/<name><suffix>`: the lock file and the `initdb` directory sit beside the data
/// directory, not in it.
pub(crate) fn sibling(parent: &Path, name: &OsStr, suffix: &str) -> PathBuf {
    let mut file = name.to_owned();
    file.push(suffix);
    parent.join(file)
}

/// `pg_ctl stop` arguments: fast shutdown (sessions are ended), waiting up to 60 s.
pub(crate) fn stop_args(data_dir: &Path) -> Vec<OsString> {
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

/// Deals with a `postmaster.pid` left in a data directory whose server did not answer on the
/// port file's port. If its process is gone, or is not a postgres running from this directory
/// (the pid was reused after a reboot), the file is removed. If it is our server, it is used
/// when it becomes usable on the port it recorded (`Some(port)`), else stopped.
pub(crate) async fn clear_stale_postmaster(
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
pub(crate) async fn init(
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
    text.push_str("\n# Operant: settings written by operant-devdb on every start.\n");
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

/// Why a start failed: the port was taken meanwhile (worth retrying on another), or not.
pub(crate) enum StartError {
    PortTaken(anyhow::Error),
    Other(anyhow::Error),
}

/// Writes the settings for `port` and starts the server, waiting until it is usable.
pub(crate) async fn start_on_port(
    bins: &PgBins,
    runner: &Runner,
    data_dir: &Path,
    port: u16,
) -> Result<(), StartError> {
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
        "# Written by operant-devdb on every start; edits are overwritten.\n\
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conf_disables_the_socket_for_long_paths() {
        let long = PathBuf::from(format!("/{}", "x".repeat(120)));
        assert!(server_conf(&long, 20001).contains("unix_socket_directories = ''"));
        assert!(server_conf(Path::new("/d"), 20001).contains("unix_socket_directories = '/d'"));
    }
}
