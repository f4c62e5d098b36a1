//! The machine side of the report: cores, memory and CPU model (from /proc), peak RSS of the
//! tracked processes (sampled from /proc/<pid>/status during the whole run), the bcrypt
//! ceiling and the pgbench select-only ceiling.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct Machine {
    pub cores: usize,
    pub memory_mib: u64,
    pub cpu_model: String,
    pub kernel: String,
}

fn proc_field(text: &str, key: &str) -> Option<String> {
    text.lines().find_map(|line| {
        let (k, v) = line.split_once(':')?;
        (k.trim() == key).then(|| v.trim().to_owned())
    })
}

fn kib(value: Option<String>) -> Option<u64> {
    value?.split_whitespace().next()?.parse().ok()
}

pub fn machine() -> Machine {
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    Machine {
        cores,
        memory_mib: kib(proc_field(&meminfo, "MemTotal")).unwrap_or(0) / 1024,
        cpu_model: proc_field(&cpuinfo, "model name").unwrap_or_else(|| "unknown".to_owned()),
        kernel: kernel.trim().to_owned(),
    }
}

/// Memory of one tracked process.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ProcessMemory {
    pub pid: u32,
    /// Largest VmRSS seen by the sampler, MiB.
    pub max_rss_mib: f64,
    /// VmHWM (the kernel's own peak RSS over the process' life) at the last sample, MiB.
    pub hwm_mib: f64,
    /// Last VmRSS, MiB.
    pub last_rss_mib: f64,
    pub samples: u64,
    /// Set when /proc could not be read (the process is gone or never existed).
    pub error: Option<String>,
}

impl ProcessMemory {
    pub fn peak_mib(&self) -> f64 {
        self.max_rss_mib.max(self.hwm_mib)
    }
}

/// Samples the tracked processes every 200 ms until dropped.
pub struct RssSampler {
    state: Arc<Mutex<BTreeMap<String, ProcessMemory>>>,
    task: tokio::task::JoinHandle<()>,
}

impl RssSampler {
    pub fn start(pids: Vec<(String, u32)>) -> Self {
        let state: Arc<Mutex<BTreeMap<String, ProcessMemory>>> = Arc::new(Mutex::new(
            pids.iter().map(|(n, p)| (n.clone(), ProcessMemory { pid: *p, ..Default::default() })).collect(),
        ));
        let shared = state.clone();
        let task = tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(200));
            loop {
                tick.tick().await;
                for (name, pid) in &pids {
                    let status = std::fs::read_to_string(format!("/proc/{pid}/status"));
                    let Ok(mut map) = shared.lock() else { return };
                    let Some(entry) = map.get_mut(name) else { continue };
                    match status {
                        Ok(text) => {
                            let rss = kib(proc_field(&text, "VmRSS")).unwrap_or(0) as f64 / 1024.0;
                            let hwm = kib(proc_field(&text, "VmHWM")).unwrap_or(0) as f64 / 1024.0;
                            entry.last_rss_mib = rss;
                            entry.max_rss_mib = entry.max_rss_mib.max(rss);
                            entry.hwm_mib = entry.hwm_mib.max(hwm);
                            entry.samples += 1;
                        }
                        Err(e) => {
                            entry.error.get_or_insert(format!("/proc/{pid}/status: {e}"));
                        }
                    }
                }
            }
        });
        Self { state, task }
    }

    pub fn snapshot(&self) -> BTreeMap<String, ProcessMemory> {
        self.state.lock().map(|m| m.clone()).unwrap_or_default()
    }
}

impl Drop for RssSampler {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// One cost-12 bcrypt hash timed in this process (best of `rounds`), and the login ceiling it
/// implies: `cores / hash time`.
#[derive(Debug, Clone, Serialize)]
pub struct BcryptCeiling {
    pub cost: u32,
    pub hash_ms: f64,
    pub cores: usize,
    pub logins_per_sec: f64,
}

pub async fn bcrypt_ceiling(cores: usize, rounds: usize) -> anyhow::Result<BcryptCeiling> {
    const COST: u32 = 12;
    let best = tokio::task::spawn_blocking(move || -> anyhow::Result<Duration> {
        let mut best = Duration::MAX;
        for _ in 0..rounds.max(1) {
            let t = Instant::now();
            bcrypt::hash("bench-password-123", COST)?;
            best = best.min(t.elapsed());
        }
        Ok(best)
    })
    .await??;
    let secs = best.as_secs_f64();
    Ok(BcryptCeiling { cost: COST, hash_ms: secs * 1000.0, cores, logins_per_sec: cores as f64 / secs })
}

#[derive(Debug, Clone, Serialize)]
pub struct Pgbench {
    pub command: String,
    pub scale: u32,
    pub clients: usize,
    pub tps: Option<f64>,
    pub error: Option<String>,
}

/// `url` with its database replaced (`postgres://u@h:p/db?x` → `.../name?x`).
fn with_database(url: &str, name: &str) -> anyhow::Result<String> {
    let (scheme, rest) = url.split_once("://").context("--pgbench-url must be a postgres:// URL")?;
    let (authority, tail) = rest.split_once('/').unwrap_or((rest, ""));
    let query = tail.split_once('?').map(|(_, q)| format!("?{q}")).unwrap_or_default();
    Ok(format!("{scheme}://{authority}/{name}{query}"))
}

async fn psql_exec(url: &str, sql: &str) -> anyhow::Result<()> {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .with_context(|| format!("connecting to {url}"))?;
    let conn = tokio::spawn(connection);
    client.batch_execute(sql).await.with_context(|| sql.to_owned())?;
    drop(client);
    let _ = conn.await;
    Ok(())
}

/// Creates a scratch database next to `url`'s, runs `pgbench -i` and the select-only run, and
/// drops the scratch database again.
pub async fn pgbench(bin: &str, url: &str, scale: u32, clients: usize, duration: Duration) -> Pgbench {
    const DB: &str = "operant_bench_pgbench";
    let secs = duration.as_secs().max(1);
    let mut result = Pgbench { command: String::new(), scale, clients, tps: None, error: None };
    let run = async {
        psql_exec(url, &format!("DROP DATABASE IF EXISTS {DB}")).await?;
        psql_exec(url, &format!("CREATE DATABASE {DB}")).await?;
        let scratch = with_database(url, DB)?;
        let init = tokio::process::Command::new(bin)
            .args(["-i", "-q", "-s", &scale.to_string(), &scratch])
            .output()
            .await
            .with_context(|| format!("running {bin}"))?;
        anyhow::ensure!(init.status.success(), "pgbench -i: {}", String::from_utf8_lossy(&init.stderr));
        let args = [
            "-S".to_owned(),
            "-M".to_owned(),
            "prepared".to_owned(),
            "-c".to_owned(),
            clients.to_string(),
            "-j".to_owned(),
            "2".to_owned(),
            "-T".to_owned(),
            secs.to_string(),
            scratch.clone(),
        ];
        result.command = format!("{bin} {}", args.join(" "));
        let out = tokio::process::Command::new(bin).args(&args).output().await?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        anyhow::ensure!(out.status.success(), "pgbench: {}{}", stdout, String::from_utf8_lossy(&out.stderr));
        let tps = stdout
            .lines()
            .find_map(|l| l.strip_prefix("tps = ")?.split_whitespace().next()?.parse::<f64>().ok())
            .with_context(|| format!("no `tps = ` line in pgbench output:\n{stdout}"))?;
        anyhow::Ok(tps)
    };
    match run.await {
        Ok(tps) => result.tps = Some(tps),
        Err(e) => result.error = Some(format!("{e:#}")),
    }
    if let Err(e) = psql_exec(url, &format!("DROP DATABASE IF EXISTS {DB}")).await {
        result.error.get_or_insert(format!("dropping {DB}: {e:#}"));
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_the_database() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable", "x").ok(),
            Some("postgres://postgres@127.0.0.1:5432/x?sslmode=disable".to_owned())
        );
        assert_eq!(with_database("postgres://h:1", "x").ok(), Some("postgres://h:1/x".to_owned()));
    }

    #[test]
    fn reads_proc_fields() {
        let text = "Name:\toperant\nVmHWM:\t  40960 kB\nVmRSS:\t  20480 kB\n";
        assert_eq!(kib(proc_field(text, "VmHWM")), Some(40960));
        assert_eq!(kib(proc_field(text, "VmRSS")), Some(20480));
    }
}

/// CPU counters at one instant: the machine's (from `/proc/stat`) and each tracked process's
/// (utime + stime from `/proc/<pid>/stat`), in clock ticks (USER_HZ, 100 per second on Linux).
#[derive(Debug, Clone, Default)]
pub struct CpuSnapshot {
    busy: u64,
    total: u64,
    processes: BTreeMap<String, u64>,
    /// The PostgreSQL server's processes ([`postgres_ticks`]), when one is tracked.
    postgres: Option<u64>,
}

/// CPU used over a measured window: what each request cost, whatever else the machine did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CpuWindow {
    /// Share of all cores busy (user, nice, system, irq, softirq, steal) over the window, %.
    pub machine_busy_pct: f64,
    /// CPU seconds the whole machine spent (every process: suite, PostgreSQL, load tool).
    pub machine_cpu_s: f64,
    /// CPU seconds of each tracked process.
    pub process_cpu_s: BTreeMap<String, f64>,
    /// CPU seconds of the PostgreSQL server (the postmaster and every backend and worker), when
    /// one is tracked (`--pg-pid` / `--pg-data`).
    pub postgres_cpu_s: Option<f64>,
}

const TICKS_PER_SEC: f64 = 100.0;

fn machine_ticks() -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let line = stat.lines().find(|l| l.starts_with("cpu "))?;
    let v: Vec<u64> = line.split_whitespace().skip(1).filter_map(|x| x.parse().ok()).collect();
    // user nice system idle iowait irq softirq steal (guest time is already in user).
    let get = |i: usize| v.get(i).copied().unwrap_or(0);
    let busy = get(0) + get(1) + get(2) + get(5) + get(6) + get(7);
    Some((busy, busy + get(3) + get(4)))
}

/// The fields of `/proc/<pid>/stat` after the command name (which may contain spaces and
/// parentheses): `state` is field 0 here, field 3 of the whole line.
fn stat_fields(pid: u32) -> Option<Vec<u64>> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = stat.get(stat.rfind(')')? + 2..)?;
    // `state` is a letter: keep the numeric fields' positions by reading it as 0.
    Some(rest.split_whitespace().map(|f| f.parse().unwrap_or(0)).collect())
}

fn process_ticks(pid: u32) -> Option<u64> {
    let fields = stat_fields(pid)?;
    // utime and stime are fields 14 and 15 of the whole line: 11 and 12 after `state`.
    Some(fields.get(11)? + fields.get(12)?)
}

/// CPU ticks of a PostgreSQL server: the postmaster's own (utime + stime) and those of the
/// children it has reaped (cutime + cstime: backends that ended), plus every live child's
/// (utime + stime): the backends, the checkpointer, the WAL writer, autovacuum. A backend that
/// ends between two snapshots moves from the live sum to the reaped one, so nothing is lost.
pub fn postgres_ticks(postmaster: u32) -> Option<u64> {
    let own = stat_fields(postmaster)?;
    let mut ticks = own.get(11)? + own.get(12)? + own.get(13)? + own.get(14)?;
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else { continue };
        // ppid is field 4 of the whole line: 1 after `state`.
        if let Some(fields) = stat_fields(pid)
            && fields.get(1) == Some(&u64::from(postmaster))
        {
            ticks += fields.get(11).copied().unwrap_or(0) + fields.get(12).copied().unwrap_or(0);
        }
    }
    Some(ticks)
}

/// The postmaster's pid from a data directory (the first line of `postmaster.pid`).
pub fn postmaster_pid(data_dir: &std::path::Path) -> anyhow::Result<u32> {
    let file = data_dir.join("postmaster.pid");
    let text = std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
    let first = text.lines().next().unwrap_or_default().trim();
    first.parse().with_context(|| format!("{}: first line {first:?} is not a pid", file.display()))
}

impl CpuSnapshot {
    pub fn take(pids: &[(String, u32)], postgres: Option<u32>) -> Self {
        let (busy, total) = machine_ticks().unwrap_or((0, 0));
        let processes =
            pids.iter().filter_map(|(name, pid)| Some((name.clone(), process_ticks(*pid)?))).collect();
        Self { busy, total, processes, postgres: postgres.and_then(postgres_ticks) }
    }

    /// What was used between `self` and `later`.
    pub fn until(&self, later: &CpuSnapshot) -> CpuWindow {
        let busy = later.busy.saturating_sub(self.busy) as f64;
        let total = later.total.saturating_sub(self.total) as f64;
        let process_cpu_s = later
            .processes
            .iter()
            .filter_map(|(name, after)| {
                let before = self.processes.get(name)?;
                Some((name.clone(), after.saturating_sub(*before) as f64 / TICKS_PER_SEC))
            })
            .collect();
        CpuWindow {
            machine_busy_pct: if total > 0.0 { 100.0 * busy / total } else { 0.0 },
            machine_cpu_s: busy / TICKS_PER_SEC,
            process_cpu_s,
            postgres_cpu_s: match (self.postgres, later.postgres) {
                (Some(before), Some(after)) => Some(after.saturating_sub(before) as f64 / TICKS_PER_SEC),
                _ => None,
            },
        }
    }
}

#[cfg(test)]
mod cpu_tests {
    use super::*;

    #[test]
    fn cpu_time_of_a_busy_process_is_counted() {
        // Spin until /proc credits this process with 200 ms of CPU (or 20 s pass): a loaded
        // machine gives the spinner less CPU per wall-clock second, but the counting must still
        // add up.
        let me = vec![("self".to_owned(), std::process::id())];
        let before = CpuSnapshot::take(&me, None);
        let started = Instant::now();
        let mut x = 0u64;
        let (window, own) = loop {
            let lap = Instant::now();
            while lap.elapsed() < Duration::from_millis(50) {
                x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
            }
            let window = before.until(&CpuSnapshot::take(&me, None));
            let own = window.process_cpu_s.get("self").copied().unwrap_or(0.0);
            if own >= 0.2 || started.elapsed() > Duration::from_secs(20) {
                break (window, own);
            }
        };
        assert!(own >= 0.2, "{:?} of spinning counted as {own} s", started.elapsed());
        assert!(window.machine_cpu_s >= own * 0.9, "{window:?}");
        assert!(window.machine_busy_pct > 0.0 && window.machine_busy_pct <= 100.0, "{window:?}");
    }

    #[test]
    fn a_process_tree_is_summed() {
        // This process as the "postmaster": its own time is at least its utime + stime, and a
        // child it spawned and reaped is counted in cutime + cstime.
        let me = std::process::id();
        let before = postgres_ticks(me).unwrap_or(0);
        let child = std::process::Command::new("sh")
            .args(["-c", "i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done"])
            .status();
        assert!(child.is_ok_and(|s| s.success()));
        let after = postgres_ticks(me).unwrap_or(0);
        assert!(after > before, "the reaped child's CPU was not counted: {before} → {after}");
        assert!(after >= process_ticks(me).unwrap_or(0));
        let dir = std::env::temp_dir().join(format!("bench-pm-{me}"));
        std::fs::create_dir_all(&dir).unwrap_or_default();
        std::fs::write(dir.join("postmaster.pid"), "4242\n/var/lib/postgresql\n").unwrap_or_default();
        assert_eq!(postmaster_pid(&dir).ok(), Some(4242));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
