//! How server commands run. `initdb` and `postgres` refuse to run as root, so when the
//! effective user is root (CI, containers) every server command runs as the `postgres` user
//! through `runuser` (or `su`) and the files it needs are given to that user; otherwise they
//! run directly. Every command runs in its own process group and from `/`.

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};

use anyhow::{Context as _, bail};

/// How server commands are run: directly, or as the `postgres` user when we are root.
#[derive(Debug, Clone)]
pub(crate) enum Runner {
    CurrentUser,
    Postgres { uid: u32, gid: u32, runuser: Option<PathBuf> },
}

impl Runner {
    pub(crate) async fn detect() -> anyhow::Result<Self> {
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
    pub(crate) fn command(&self, program: &Path, args: &[OsString]) -> std::process::Command {
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
    pub(crate) fn give(&self, path: &Path) -> anyhow::Result<()> {
        if let Self::Postgres { uid, gid, .. } = self {
            std::os::unix::fs::chown(path, Some(*uid), Some(*gid))
                .with_context(|| format!("chown postgres {}", path.display()))?;
        }
        Ok(())
    }

    /// Whether the server's user can search `dir` (and so every directory above it).
    pub(crate) async fn can_search(&self, dir: &Path) -> bool {
        if matches!(self, Self::CurrentUser) {
            return true;
        }
        self.test(["-x".into(), dir.into()]).await
    }

    /// Fails clearly when the server's user cannot reach `dir` (a parent directory without
    /// search permission for it, e.g. a checkout under a 0700 home directory).
    pub(crate) async fn check_reachable(&self, dir: &Path) -> anyhow::Result<()> {
        if matches!(self, Self::CurrentUser) {
            return Ok(());
        }
        if !self.test(["-w".into(), dir.into()]).await {
            bail!(
                "the postgres user cannot write to {}: every parent directory must be searchable \
                 by it (chmod o+x), since PostgreSQL refuses to run as root",
                dir.display()
            );
        }
        Ok(())
    }

    /// Whether `test ARGS` succeeds as the server's user.
    async fn test(&self, args: [OsString; 2]) -> bool {
        let cmd = self.command(Path::new("test"), &args);
        tokio::process::Command::from(cmd)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .await
            .is_ok_and(|s| s.success())
    }
}

/// Runs a command, failing with its command line, exit status and output.
pub(crate) async fn run_checked(mut cmd: tokio::process::Command, what: &str) -> anyhow::Result<Output> {
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
    if let Ok(passwd) = tokio::fs::read_to_string("/etc/passwd").await
        && let Some(ids) = passwd.lines().find_map(parse_passwd_line)
    {
        return Ok(ids);
    }
    let getent = tokio::process::Command::new("getent")
        .args(["passwd", "postgres"])
        .stdin(Stdio::null())
        .output()
        .await;
    if let Ok(out) = getent
        && let Some(ids) = String::from_utf8_lossy(&out.stdout).lines().find_map(parse_passwd_line)
    {
        return Ok(ids);
    }
    bail!(
        "running as root, which PostgreSQL refuses, and there is no `postgres` user to run it as: \
         create one (`useradd --system --user-group postgres`) or run as a non-root user"
    )
}

/// uid and gid from a `passwd` line of the `postgres` user.
fn parse_passwd_line(line: &str) -> Option<(u32, u32)> {
    let mut fields = line.split(':');
    if fields.next()? != "postgres" {
        return None;
    }
    let _password = fields.next()?;
    Some((fields.next()?.parse().ok()?, fields.next()?.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_for_the_shell() {
        assert_eq!(shell_quote(OsStr::new("it's")), "'it'\\''s'");
    }

    #[test]
    fn reads_the_postgres_user_from_passwd() {
        assert_eq!(
            parse_passwd_line("postgres:x:105:111:PostgreSQL:/var/lib/postgresql:/bin/bash"),
            Some((105, 111))
        );
        assert_eq!(parse_passwd_line("postgresql:x:1:2::/:/bin/sh"), None);
        assert_eq!(parse_passwd_line("postgres:x:nope:2::/:/bin/sh"), None);
    }

    #[test]
    fn commands_run_directly_or_as_postgres_through_su() {
        let cmd = Runner::CurrentUser.command(Path::new("/bin/pg_ctl"), &["stop".into()]);
        assert_eq!(command_line(&cmd), "/bin/pg_ctl stop");
        let su = Runner::Postgres { uid: 1, gid: 1, runuser: None }
            .command(Path::new("/bin/pg_ctl"), &["it's".into()]);
        assert_eq!(command_line(&su), "su postgres -s /bin/sh -c '/bin/pg_ctl' 'it'\\''s'");
    }
}
