//! Where the PostgreSQL server binaries are: `PATH`, then `/usr/lib/postgresql/*/bin` (Debian's
//! layout, newest major version first), preferring the major version of an existing cluster.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use anyhow::bail;

/// Where the PostgreSQL server binaries are.
#[derive(Debug)]
pub(crate) struct PgBins {
    pub(crate) initdb: PathBuf,
    pub(crate) pg_ctl: PathBuf,
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

    /// The first `pg_ctl` found, without checking versions (synchronous, for `Drop`).
    pub(crate) fn any_pg_ctl() -> Option<PathBuf> {
        Self::candidates().into_iter().map(|dir| dir.join("pg_ctl")).find(|p| p.is_file())
    }

    /// Finds a directory with `initdb`, `pg_ctl` and `postgres`, preferring the major version
    /// of an existing cluster in `data_dir`.
    pub(crate) async fn find(data_dir: &Path) -> anyhow::Result<Self> {
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
    parse_major_version(&String::from_utf8_lossy(&out.stdout))
}

fn parse_major_version(text: &str) -> Option<String> {
    let version = text.split_whitespace().nth(2)?;
    let mut parts = version.split(|c: char| !c.is_ascii_digit());
    let major = parts.next()?;
    if major.parse::<u32>().ok()? >= 10 {
        Some(major.to_owned())
    } else {
        Some(format!("{major}.{}", parts.next()?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_major_version() {
        assert_eq!(parse_major_version("pg_ctl (PostgreSQL) 15.8 (Debian 15.8-1)\n").as_deref(), Some("15"));
        assert_eq!(parse_major_version("pg_ctl (PostgreSQL) 9.6.24\n").as_deref(), Some("9.6"));
        assert_eq!(parse_major_version("garbage").as_deref(), None);
    }
}
