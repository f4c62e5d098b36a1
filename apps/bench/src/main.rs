//! `operant-bench`: the load tool of issue 7.
//!
//! It creates its own users, organization, projects and tasks through the product's API
//! ([`setup`]), then drives each scenario ([`scenarios`]) for a fixed time at a fixed
//! concurrency over REST (through the gateway) and over gRPC (straight to the services), and
//! writes `report.json` + `report.md` ([`report`]) with req/s, latency percentiles, errors, the
//! machine, peak RSS of the tracked processes and the bcrypt/pgbench ceilings ([`system`]).
//!
//! The tool is built not to be the bottleneck: one HTTP/1.1 keep-alive connection per REST
//! worker, a few shared HTTP/2 channels for gRPC, pre-built requests, per-worker HDR
//! histograms merged at the end ([`driver`]). A failing route is reported as errors of its
//! scenario; it never stops the run.

mod api;
mod driver;
mod grpc;
mod report;
mod rest;
mod scenarios;
mod setup;
mod system;
mod webhook;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, ValueEnum};

use crate::api::Api;
use crate::driver::{Timing, WindowHook, drive};
use crate::report::{Report, ScenarioResult, Settings, Storm};
use crate::scenarios::{Credential, Ctx, Scenario, Transport};

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Transports {
    Rest,
    Grpc,
    Both,
}

#[derive(Parser, Debug)]
#[command(name = "operant-bench", about = "Load tool for the Operant suite (REST gateway and gRPC services)")]
struct Cli {
    /// Base URL of the REST API.
    #[arg(long, default_value = "http://127.0.0.1:8000/api/v1")]
    gateway: String,
    /// Runs the REST scenarios only, against any server speaking the same REST API at this base
    /// URL (e.g. an implementation of the original API: `http://127.0.0.1:8001/api/v1`); setup
    /// goes through REST too, and a scenario whose route the server lacks (API keys, cursors)
    /// shows as errors. Overrides `--gateway` and `--transport`.
    #[arg(long)]
    base_url: Option<String>,
    #[arg(long, default_value = "http://127.0.0.1:9101")]
    auth_grpc: String,
    #[arg(long, default_value = "http://127.0.0.1:9102")]
    tenancy_grpc: String,
    #[arg(long, default_value = "http://127.0.0.1:9103")]
    work_grpc: String,
    /// Workers (= REST connections) per scenario.
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// Measured time per scenario and transport (`10s`, `500ms`, `1m`).
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    duration: Duration,
    /// Unmeasured time before each measurement.
    #[arg(long, default_value = "2s", value_parser = parse_duration)]
    warmup: Duration,
    /// `all` or a comma-separated list of: users_me, list_projects, list_tasks_todo,
    /// first_page, deep_page, create_task, create_task_idempotent, create_task_webhook,
    /// refresh_chain, login, mixed.
    #[arg(long, default_value = "all")]
    scenarios: String,
    #[arg(long, value_enum, default_value_t = Transports::Both)]
    transport: Transports,
    /// Where report.json and report.md go.
    #[arg(long, default_value = "target/bench")]
    out_dir: PathBuf,
    /// Processes whose peak RSS to report: `name=pid,...`.
    #[arg(long, default_value = "")]
    pids: String,
    /// The PostgreSQL postmaster's pid: the CPU of it and all its children (backends, workers)
    /// is read around each measured window.
    #[arg(long)]
    pg_pid: Option<u32>,
    /// A PostgreSQL data directory whose `postmaster.pid` names the postmaster (instead of
    /// `--pg-pid`).
    #[arg(long)]
    pg_data: Option<PathBuf>,
    /// Tasks of the deep-page project (`first_page`, `deep_page` read its page 1 and, by cursor,
    /// its page 500 of 20); 0 skips that fixture.
    #[arg(long, default_value_t = 20_000)]
    deep_tasks: usize,
    /// PostgreSQL URL (a maintenance database such as `postgres`) on which to create a scratch
    /// database for `pgbench -S -M prepared`; pgbench is skipped without it.
    #[arg(long)]
    pgbench_url: Option<String>,
    #[arg(long, default_value = "/usr/lib/postgresql/15/bin/pgbench")]
    pgbench_bin: String,
    /// pgbench scale factor for `pgbench -i`.
    #[arg(long, default_value_t = 1)]
    pgbench_scale: u32,
    /// Background login workers of the `mixed` scenario.
    #[arg(long, default_value_t = 4)]
    storm_concurrency: usize,
    /// HTTP/2 channels per gRPC service shared by the workers.
    #[arg(long, default_value_t = 4)]
    grpc_channels: usize,
    /// Accounts besides the owner that the login scenarios rotate through.
    #[arg(long, default_value_t = 15)]
    login_users: usize,
    /// Most logins in flight at once (login scenario, storm, per-worker logins). The product
    /// reserves a throttle slot per attempt — 20 per client address, 5 per account, for 15
    /// minutes after any 429 — and all bench workers share one address, so this stays below.
    #[arg(long, default_value_t = 16)]
    login_concurrency: usize,
    /// A shell command run when each measured window opens (`CMD start SCENARIO/TRANSPORT`)
    /// and closes (`CMD end SCENARIO/TRANSPORT N`, N = successful requests in between); each
    /// call is awaited while the workers keep running. `.ci/profile` switches callgrind on and
    /// off with it.
    #[arg(long)]
    window_hook: Option<String>,
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (number, unit) = match s.find(|c: char| !(c.is_ascii_digit() || c == '.')) {
        Some(i) => s.split_at(i),
        None => (s, "s"),
    };
    let value: f64 = number.parse().map_err(|_| format!("{s:?} is not a duration like 10s, 500ms, 1m"))?;
    let secs = match unit {
        "ms" => value / 1000.0,
        "s" => value,
        "m" => value * 60.0,
        _ => return Err(format!("{s:?}: unknown unit {unit:?} (ms, s, m)")),
    };
    Ok(Duration::from_secs_f64(secs))
}

fn parse_pids(s: &str) -> anyhow::Result<Vec<(String, u32)>> {
    s.split(',')
        .filter(|p| !p.trim().is_empty())
        .map(|pair| {
            let (name, pid) =
                pair.split_once('=').with_context(|| format!("--pids: {pair:?} is not name=pid"))?;
            Ok((
                name.trim().to_owned(),
                pid.trim().parse().with_context(|| format!("--pids: bad pid in {pair:?}"))?,
            ))
        })
        .collect()
}

fn parse_scenarios(s: &str) -> anyhow::Result<Vec<Scenario>> {
    if s.trim() == "all" {
        return Ok(Scenario::ALL.to_vec());
    }
    s.split(',').map(|n| n.trim().parse::<Scenario>().map_err(anyhow::Error::msg)).collect()
}

fn command_line() -> String {
    std::env::args()
        .map(|a| {
            if a.is_empty() || a.contains(|c: char| c.is_whitespace() || "'\"$&|;<>()*?`\\".contains(c)) {
                format!("'{}'", a.replace('\'', "'\\''"))
            } else {
                a
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(run(cli))
}

async fn run(mut cli: Cli) -> anyhow::Result<()> {
    if let Some(base) = cli.base_url.clone() {
        cli.gateway = base;
        cli.transport = Transports::Rest;
    }
    let scenarios = parse_scenarios(&cli.scenarios)?;
    let postgres = match (&cli.pg_pid, &cli.pg_data) {
        (Some(pid), _) => Some(*pid),
        (None, Some(dir)) => Some(system::postmaster_pid(dir)?),
        (None, None) => None,
    };
    if let Some(pid) = postgres {
        anyhow::ensure!(
            system::postgres_ticks(pid).is_some(),
            "PostgreSQL postmaster {pid}: /proc/{pid}/stat cannot be read"
        );
    }
    let transports = match cli.transport {
        Transports::Rest => vec![Transport::Rest],
        Transports::Grpc => vec![Transport::Grpc],
        Transports::Both => vec![Transport::Rest, Transport::Grpc],
    };
    anyhow::ensure!(cli.concurrency > 0, "--concurrency must be at least 1");
    let pids = parse_pids(&cli.pids)?;
    let started_at = now();
    let machine = system::machine();
    let sampler = system::RssSampler::start(pids.clone());
    let timing = Timing { warmup: cli.warmup, duration: cli.duration };
    let mut notes = Vec::new();

    eprintln!("timing one cost-12 bcrypt hash…");
    let bcrypt = match system::bcrypt_ceiling(machine.cores, 3).await {
        Ok(b) => Some(b),
        Err(e) => {
            notes.push(format!("bcrypt ceiling not measured: {e:#}"));
            None
        }
    };

    let rest = rest::RestTarget::parse(&cli.gateway)?;
    let channels = grpc::Channels::new(&cli.auth_grpc, &cli.tenancy_grpc, &cli.work_grpc, cli.grpc_channels)?;
    eprintln!("setting up fixtures…");
    let (mut api, via) = if transports.contains(&Transport::Rest) {
        (Api::rest(rest.clone()), "REST")
    } else {
        (Api::grpc(channels.clone()), "gRPC")
    };
    let deep_tasks = if scenarios.iter().any(|s| matches!(s, Scenario::FirstPage | Scenario::DeepPage)) {
        cli.deep_tasks
    } else {
        0
    };
    let mut fixtures = setup::run(&mut api, via, cli.login_users, deep_tasks).await;
    if fixtures.organization_id.is_empty() && via == "REST" && cli.base_url.is_none() {
        eprintln!("REST setup failed ({}); retrying over gRPC", fixtures.notes.join("; "));
        let mut grpc_api = Api::grpc(channels.clone());
        let retry = setup::run(&mut grpc_api, "gRPC (REST setup failed)", cli.login_users, deep_tasks).await;
        if !retry.organization_id.is_empty() {
            notes.extend(fixtures.notes.iter().map(|n| format!("REST setup: {n}")));
            fixtures = retry;
            api = grpc_api;
        }
    }
    for note in &fixtures.notes {
        eprintln!("setup: {note}");
    }

    let login_concurrency = cli.login_concurrency.clamp(1, 20);
    let mut ctx = Ctx {
        rest,
        channels,
        fx: fixtures,
        token: String::new(),
        login_concurrency,
        pids: pids.clone(),
        postgres,
    };
    let mut results: Vec<ScenarioResult> = Vec::new();
    for &scenario in &scenarios {
        for &transport in &transports {
            ctx.token = if scenario.credential() == Credential::ApiKey {
                ctx.fx.api_key.clone()
            } else {
                match api.login(&ctx.fx.owner_email, setup::PASSWORD).await {
                    Ok(t) => t.access,
                    Err(e) => {
                        notes.push(format!(
                            "{} / {}: owner login failed: {e}",
                            scenario.name(),
                            transport.name()
                        ));
                        String::new()
                    }
                }
            };
            let mut baseline = None;
            if scenario == Scenario::Mixed {
                baseline = match results
                    .iter()
                    .find(|r| r.scenario == Scenario::UsersMe.name() && r.transport == transport.name())
                {
                    Some(r) => r.p99_ms,
                    None => {
                        let base = measure(&ctx, Scenario::UsersMe, transport, &cli, timing).await?;
                        let p99 = base.p99_ms;
                        results.push(base);
                        p99
                    }
                };
            }
            let subscription = if scenario == Scenario::CreateTaskWebhook {
                match webhook::Subscription::start(
                    &ctx.rest,
                    &ctx.token,
                    &ctx.fx.organization_id,
                    &ctx.fx.sink_project_id,
                )
                .await
                {
                    Ok(s) => Some(s),
                    Err(e) => {
                        notes.push(format!("{} / {}: {e:#}", scenario.name(), transport.name()));
                        None
                    }
                }
            } else {
                None
            };
            let mut result = measure(&ctx, scenario, transport, &cli, timing).await?;
            result.baseline_p99_ms = baseline;
            if let Some(subscription) = subscription {
                match subscription.finish(&ctx.rest, &ctx.token).await {
                    Ok((deliveries, p50_ms, p99_ms, max_ms)) => {
                        result.notes.push(format!(
                            "webhook deliveries (warm-up included): {deliveries}, latency from occurred_at p50 {p50_ms:?} ms, p99 {p99_ms:?} ms, max {max_ms:?} ms"
                        ));
                        eprintln!(
                            "{}: {}",
                            scenario.name(),
                            result.notes.last().map(String::as_str).unwrap_or("")
                        );
                        result.webhook_delivery =
                            Some(report::WebhookDelivery { deliveries, p50_ms, p99_ms, max_ms });
                    }
                    Err(e) => result.notes.push(format!("webhook: {e:#}")),
                }
            }
            results.push(result);
        }
    }

    let pgbench = match &cli.pgbench_url {
        Some(url) => {
            eprintln!("running pgbench -S -M prepared for {:?}…", cli.duration);
            let p = system::pgbench(&cli.pgbench_bin, url, cli.pgbench_scale, cli.concurrency, cli.duration)
                .await;
            eprintln!(
                "pgbench: {}",
                p.tps.map_or_else(|| format!("{:?}", p.error), |t| format!("{t:.0} tps"))
            );
            Some(p)
        }
        None => None,
    };

    let mut report = Report {
        command: command_line(),
        started_at,
        finished_at: now(),
        machine,
        settings: Settings {
            concurrency: cli.concurrency,
            warmup_s: cli.warmup.as_secs_f64(),
            duration_s: cli.duration.as_secs_f64(),
            storm_concurrency: cli.storm_concurrency.min(ctx.login_concurrency),
            login_concurrency: ctx.login_concurrency,
            grpc_channels: cli.grpc_channels,
            gateway: cli.gateway.clone(),
            auth_grpc: cli.auth_grpc.clone(),
            tenancy_grpc: cli.tenancy_grpc.clone(),
            work_grpc: cli.work_grpc.clone(),
        },
        fixtures: ctx.fx.clone(),
        bcrypt,
        pgbench,
        processes: sampler.snapshot(),
        results,
        targets: Vec::new(),
        notes,
    };
    report.targets = report::targets(&report);
    std::fs::create_dir_all(&cli.out_dir).with_context(|| format!("creating {}", cli.out_dir.display()))?;
    let json_path = cli.out_dir.join("report.json");
    let md_path = cli.out_dir.join("report.md");
    std::fs::write(&json_path, serde_json::to_vec_pretty(&report)?)?;
    let md = report::markdown(&report);
    std::fs::write(&md_path, &md)?;
    println!("{md}");
    eprintln!("wrote {} and {}", md_path.display(), json_path.display());
    Ok(())
}

/// Runs one scenario over one transport and prints a progress line.
async fn measure(
    ctx: &Ctx,
    scenario: Scenario,
    transport: Transport,
    cli: &Cli,
    timing: Timing,
) -> anyhow::Result<ScenarioResult> {
    eprintln!("{} / {}: preparing workers…", scenario.name(), transport.name());
    let workers = ctx.workers(scenario, transport, cli.concurrency, cli.storm_concurrency).await?;
    let concurrency = workers.ops.len();
    let hook = cli.window_hook.as_ref().map(|command| WindowHook {
        command: command.clone(),
        label: format!("{}/{}", scenario.name(), transport.name()),
    });
    let (measured, storm, cpu) =
        drive(workers.ops, workers.background, timing, &ctx.pids, ctx.postgres, hook).await?;
    let mut result = ScenarioResult::new(scenario, transport, concurrency, &measured, workers.notes);
    result.set_cpu(cpu);
    let storm_workers = cli.storm_concurrency.min(ctx.login_concurrency);
    result.storm = storm.map(|s| Storm {
        concurrency: storm_workers,
        logins: s.ok,
        logins_per_sec: s.ok_per_sec(),
        errors: s.errors,
        p99_ms: s.percentile_ms(0.99),
    });
    eprintln!(
        "{} / {}: {:.0} req/s, p50 {:?} ms, p99 {:?} ms, {} errors{}",
        result.scenario,
        result.transport,
        result.req_per_sec,
        result.p50_ms,
        result.p99_ms,
        result.errors,
        result.error_samples.first().map(|e| format!(" (first: {e})")).unwrap_or_default()
    );
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_durations() {
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("1m"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_duration("3"), Ok(Duration::from_secs(3)));
        assert!(parse_duration("3h").is_err());
    }

    #[test]
    fn parses_pids_and_scenarios() {
        let pids = parse_pids("operant=12, pg=34").ok();
        assert_eq!(pids, Some(vec![("operant".to_owned(), 12), ("pg".to_owned(), 34)]));
        assert!(parse_pids("nonsense").is_err());
        assert_eq!(parse_scenarios("all").map(|v| v.len()).ok(), Some(13));
        assert!(parse_scenarios("floor,users_me").is_ok());
        assert!(parse_scenarios("create_task,create_task_webhook").is_ok());
        assert!(parse_scenarios("create_task,create_task_idempotent").is_ok());
        assert!(parse_scenarios("users_me,mixed").is_ok());
        assert!(parse_scenarios("nope").is_err());
    }
}
