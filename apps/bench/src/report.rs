//! The report: one JSON document and its Markdown rendering, with the targets of issue 7
//! evaluated against the figures of this run (never against anything not measured here).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use crate::driver::Measured;
use crate::scenarios::{Scenario, Transport};
use crate::setup::Fixtures;
use crate::system::{BcryptCeiling, CpuWindow, Machine, Pgbench, ProcessMemory};

/// The background login storm of a `mixed` run.
#[derive(Debug, Clone, Serialize)]
pub struct Storm {
    pub concurrency: usize,
    pub logins: u64,
    pub logins_per_sec: f64,
    pub errors: u64,
    pub p99_ms: Option<f64>,
}

/// `create_task_webhook`: the deliveries the in-process receiver got (warm-up included) and
/// their latency, receipt time minus the event's `occurred_at`.
#[derive(Debug, Clone, Serialize)]
pub struct WebhookDelivery {
    pub deliveries: usize,
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub max_ms: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ScenarioResult {
    pub scenario: String,
    pub transport: String,
    pub what: String,
    pub concurrency: usize,
    pub duration_s: f64,
    /// Requests started in the measured window (successes + errors).
    pub requests: u64,
    pub ok: u64,
    pub errors: u64,
    /// Requests that completed after the window closed (not counted anywhere else).
    pub in_flight_at_end: u64,
    /// Successful requests per second.
    pub req_per_sec: f64,
    pub p50_ms: Option<f64>,
    pub p90_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub max_ms: Option<f64>,
    /// First few distinct failures (code: body or message).
    pub error_samples: Vec<String>,
    pub notes: Vec<String>,
    /// `mixed` only: the storm, and `users_me`'s p99 without it (same transport, this run).
    pub storm: Option<Storm>,
    pub baseline_p99_ms: Option<f64>,
    /// `create_task_webhook` only.
    pub webhook_delivery: Option<WebhookDelivery>,
    /// CPU used during the measured window.
    pub cpu: CpuWindow,
    /// Machine CPU µs per successful request (suite + PostgreSQL + load tool).
    pub machine_cpu_us_per_req: Option<f64>,
    /// CPU µs per successful request of each tracked process (`--pids`).
    pub process_cpu_us_per_req: BTreeMap<String, f64>,
    /// CPU µs per successful request of the PostgreSQL server (`--pg-pid` / `--pg-data`).
    pub postgres_cpu_us_per_req: Option<f64>,
    /// CPU µs per successful request of the tracked processes and PostgreSQL together: what a
    /// request costs the suite, whatever else the machine did (the load tool is left out).
    pub suite_and_postgres_cpu_us_per_req: Option<f64>,
}

impl ScenarioResult {
    pub fn new(
        scenario: Scenario,
        transport: Transport,
        concurrency: usize,
        m: &Measured,
        notes: Vec<String>,
    ) -> Self {
        Self {
            scenario: scenario.name().to_owned(),
            transport: transport.name().to_owned(),
            what: scenario.describe(transport).to_owned(),
            concurrency,
            duration_s: m.duration.as_secs_f64(),
            requests: m.ok + m.errors,
            ok: m.ok,
            errors: m.errors,
            in_flight_at_end: m.discarded,
            req_per_sec: m.ok_per_sec(),
            p50_ms: m.percentile_ms(0.50),
            p90_ms: m.percentile_ms(0.90),
            p99_ms: m.percentile_ms(0.99),
            max_ms: m.max_ms(),
            error_samples: m.samples.iter().map(ToString::to_string).collect(),
            notes,
            storm: None,
            baseline_p99_ms: None,
            webhook_delivery: None,
            cpu: CpuWindow::default(),
            machine_cpu_us_per_req: None,
            process_cpu_us_per_req: BTreeMap::new(),
            postgres_cpu_us_per_req: None,
            suite_and_postgres_cpu_us_per_req: None,
        }
    }

    pub fn set_cpu(&mut self, cpu: CpuWindow) {
        let per_req = |seconds: f64| (self.ok > 0).then(|| seconds * 1e6 / self.ok as f64);
        self.machine_cpu_us_per_req = per_req(cpu.machine_cpu_s);
        self.process_cpu_us_per_req =
            cpu.process_cpu_s.iter().filter_map(|(name, s)| Some((name.clone(), per_req(*s)?))).collect();
        self.postgres_cpu_us_per_req = cpu.postgres_cpu_s.and_then(per_req);
        let tracked: f64 = cpu.process_cpu_s.values().sum();
        self.suite_and_postgres_cpu_us_per_req = match cpu.postgres_cpu_s {
            Some(pg) if !cpu.process_cpu_s.is_empty() => per_req(tracked + pg),
            _ => None,
        };
        self.cpu = cpu;
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Target {
    pub target: String,
    pub measured: String,
    /// `met`, `missed` or `not measured`.
    pub status: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Settings {
    pub concurrency: usize,
    pub warmup_s: f64,
    pub duration_s: f64,
    pub storm_concurrency: usize,
    pub login_concurrency: usize,
    pub grpc_channels: usize,
    pub gateway: String,
    pub auth_grpc: String,
    pub tenancy_grpc: String,
    pub work_grpc: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub command: String,
    pub started_at: String,
    pub finished_at: String,
    pub machine: Machine,
    pub settings: Settings,
    pub fixtures: Fixtures,
    pub bcrypt: Option<BcryptCeiling>,
    pub pgbench: Option<Pgbench>,
    pub processes: BTreeMap<String, ProcessMemory>,
    pub results: Vec<ScenarioResult>,
    pub targets: Vec<Target>,
    pub notes: Vec<String>,
}

fn find(results: &[ScenarioResult], s: Scenario, t: Transport) -> Option<&ScenarioResult> {
    results.iter().find(|r| r.scenario == s.name() && r.transport == t.name())
}

fn status(ok: Option<bool>) -> String {
    match ok {
        Some(true) => "met",
        Some(false) => "missed",
        None => "not measured",
    }
    .to_owned()
}

fn rate(r: Option<&ScenarioResult>) -> String {
    match r {
        Some(r) if r.errors > 0 => format!("{:.0} req/s ({} errors)", r.req_per_sec, r.errors),
        Some(r) => format!("{:.0} req/s", r.req_per_sec),
        None => "—".to_owned(),
    }
}

/// Evaluates issue 7's targets.
pub fn targets(report: &Report) -> Vec<Target> {
    let results = &report.results;
    let mut out = Vec::new();
    let mut push = |target: String, measured: String, ok: Option<bool>| {
        out.push(Target { target, measured, status: status(ok) })
    };
    let rest = |s| find(results, s, Transport::Rest);
    let grpc = |s| find(results, s, Transport::Grpc);
    let floors = [
        (Scenario::UsersMe, "GET /users/me", 10_000.0),
        (Scenario::ListProjects, "GET /projects", 5_000.0),
        (Scenario::ListTasksTodo, "GET /tasks?project_id&status=TODO", 4_000.0),
        (Scenario::CreateTask, "POST /tasks", 2_500.0),
        (Scenario::RefreshChain, "POST /auth/refresh", 2_000.0),
    ];
    for (s, label, floor) in floors {
        let r = rest(s);
        push(format!("{label} (REST) ≥ {floor:.0} req/s"), rate(r), r.map(|r| r.req_per_sec >= floor));
        if s == Scenario::UsersMe {
            let pg = report.pgbench.as_ref().and_then(|p| p.tps);
            let measured = match (r, pg) {
                (Some(r), Some(tps)) => {
                    format!("{:.0} req/s vs 0.25 × {tps:.0} = {:.0}", r.req_per_sec, tps * 0.25)
                }
                _ => "—".to_owned(),
            };
            push(
                format!("{label} (REST) ≥ 0.25 × pgbench select-only tps"),
                measured,
                r.zip(pg).map(|(r, tps)| r.req_per_sec >= 0.25 * tps),
            );
            let p99 = r.and_then(|r| r.p99_ms);
            push(
                format!("{label} (REST) p99 ≤ 15 ms"),
                p99.map_or("—".to_owned(), |p| format!("{p:.2} ms")),
                p99.map(|p| p <= 15.0),
            );
        }
    }
    for (s, label, _) in floors {
        let (r, g) = (rest(s), grpc(s));
        let measured = match (r, g) {
            (Some(r), Some(g)) => format!(
                "{:.0} vs 1.3 × {:.0} = {:.0} ({:.2}×)",
                g.req_per_sec,
                r.req_per_sec,
                1.3 * r.req_per_sec,
                g.req_per_sec / r.req_per_sec.max(1e-9)
            ),
            _ => "—".to_owned(),
        };
        let ok = r.zip(g).map(|(r, g)| g.req_per_sec >= 1.3 * r.req_per_sec && g.req_per_sec > 0.0);
        push(format!("{label} over gRPC ≥ 1.3 × REST"), measured, ok);
    }
    // Safe retries: a fresh Idempotency-Key costs at most 1.3 × the CPU of the same POST without.
    for t in [Transport::Rest, Transport::Grpc] {
        let plain = find(results, Scenario::CreateTask, t).and_then(|r| r.machine_cpu_us_per_req);
        let keyed = find(results, Scenario::CreateTaskIdempotent, t).and_then(|r| r.machine_cpu_us_per_req);
        let measured = match (keyed, plain) {
            (Some(k), Some(p)) => {
                format!("{k:.0} µs vs 1.3 × {p:.0} = {:.0} µs CPU/req ({:.2}×)", 1.3 * p, k / p.max(1e-9))
            }
            _ => "—".to_owned(),
        };
        push(
            format!("POST /tasks with Idempotency-Key ({}) ≤ 1.3 × the CPU without", t.name()),
            measured,
            keyed.zip(plain).map(|(k, p)| k <= 1.3 * p),
        );
    }
    // Webhooks (issue 15): throughput with a subscribed endpoint ≥ 0.8 × without, and every
    // delivery within 1 s at p99 under that load.
    for t in [Transport::Rest, Transport::Grpc] {
        let plain = find(results, Scenario::CreateTask, t);
        let hooked = find(results, Scenario::CreateTaskWebhook, t);
        let measured = match (hooked, plain) {
            (Some(h), Some(p)) => format!(
                "{:.0} vs 0.8 × {:.0} = {:.0} req/s ({:.2}×)",
                h.req_per_sec,
                p.req_per_sec,
                0.8 * p.req_per_sec,
                h.req_per_sec / p.req_per_sec.max(1e-9)
            ),
            _ => "—".to_owned(),
        };
        push(
            format!("POST /tasks with a subscribed webhook ({}) ≥ 0.8 × without", t.name()),
            measured,
            hooked.zip(plain).map(|(h, p)| h.req_per_sec >= 0.8 * p.req_per_sec),
        );
        let delivery = hooked.and_then(|h| h.webhook_delivery.as_ref());
        let p99 = delivery.and_then(|d| d.p99_ms);
        push(
            format!("webhook delivery latency p99 under that load ({}) ≤ 1 s", t.name()),
            match (delivery, p99) {
                (Some(d), Some(p)) => format!("{p:.1} ms ({} deliveries)", d.deliveries),
                _ => "—".to_owned(),
            },
            p99.map(|p| p <= 1000.0),
        );
    }
    let ceiling = report.bcrypt.as_ref().map(|b| b.logins_per_sec);
    for t in [Transport::Rest, Transport::Grpc] {
        let r = find(results, Scenario::Login, t);
        let measured = match (r, ceiling) {
            (Some(r), Some(c)) => format!("{:.1} logins/s vs 0.9 × {c:.1} = {:.1}", r.req_per_sec, 0.9 * c),
            _ => "—".to_owned(),
        };
        push(
            format!("login ({}) ≥ 90 % of the bcrypt ceiling", t.name()),
            measured,
            r.zip(ceiling).map(|(r, c)| r.req_per_sec >= 0.9 * c),
        );
    }
    for t in [Transport::Rest, Transport::Grpc] {
        let m = find(results, Scenario::Mixed, t);
        let pair = m.and_then(|m| m.p99_ms.zip(m.baseline_p99_ms));
        push(
            format!("users_me p99 during a login storm ≤ 3 × without ({})", t.name()),
            pair.map_or("—".to_owned(), |(s, b)| format!("{s:.2} ms vs 3 × {b:.2} = {:.2} ms", 3.0 * b)),
            pair.map(|(s, b)| s <= 3.0 * b),
        );
    }
    if report.processes.is_empty() {
        push("each service ≤ 50 MiB RSS".to_owned(), "no --pids given".to_owned(), None);
    }
    for (name, p) in &report.processes {
        let measured = match &p.error {
            Some(e) if p.samples == 0 => e.clone(),
            _ => format!("{:.1} MiB peak", p.peak_mib()),
        };
        let ok = (p.samples > 0).then(|| p.peak_mib() <= 50.0);
        push(format!("{name} ≤ 50 MiB RSS"), measured, ok);
    }
    // Issue 16: CPU per request of the suite + PostgreSQL (REST), and deep pages as cheap as the
    // first.
    let cpu_ceilings = [
        (Scenario::UsersMe, "GET /users/me", 100.0),
        (Scenario::ListProjects, "GET /projects", 200.0),
        (Scenario::ListTasksTodo, "GET /tasks?project_id&status=TODO", 250.0),
        (Scenario::CreateTask, "POST /tasks", 300.0),
        (Scenario::RefreshChain, "POST /auth/refresh", 300.0),
    ];
    for (s, label, ceiling) in cpu_ceilings {
        let cpu = rest(s).and_then(|r| r.suite_and_postgres_cpu_us_per_req);
        push(
            format!("{label} (REST) ≤ {ceiling:.0} µs CPU/req (suite + PostgreSQL)"),
            cpu.map_or("— (not run, or no --pids with --pg-pid/--pg-data)".to_owned(), |c| {
                format!("{c:.0} µs")
            }),
            cpu.map(|c| c <= ceiling),
        );
    }
    for t in [Transport::Rest, Transport::Grpc] {
        let cost = |s| {
            find(results, s, t).and_then(|r| r.suite_and_postgres_cpu_us_per_req.or(r.machine_cpu_us_per_req))
        };
        let pair = cost(Scenario::DeepPage).zip(cost(Scenario::FirstPage));
        push(
            format!("page 500 by cursor costs the first page's CPU ± 20 % ({})", t.name()),
            pair.map_or("—".to_owned(), |(d, f)| {
                format!("{d:.0} vs {f:.0} µs/req ({:.2}×)", d / f.max(1e-9))
            }),
            pair.map(|(d, f)| (d - f).abs() <= 0.2 * f),
        );
    }
    out
}

fn ms(v: Option<f64>) -> String {
    v.map_or("—".to_owned(), |v| format!("{v:.2}"))
}

/// Renders the report as Markdown.
pub fn markdown(r: &Report) -> String {
    let mut s = String::new();
    let m = &r.machine;
    let c = &r.settings;
    let _ = writeln!(s, "# Operant benchmark report\n");
    let _ = writeln!(s, "- Started {} · finished {}", r.started_at, r.finished_at);
    let _ = writeln!(s, "- Command: `{}`", r.command);
    let _ = writeln!(
        s,
        "- Machine: {} cores ({}), {} MiB memory, Linux {}",
        m.cores, m.cpu_model, m.memory_mib, m.kernel
    );
    let _ = writeln!(
        s,
        "- Load: {} connections/workers, {:.0} s warm-up + {:.0} s measured per scenario and transport; \
         login storm of `mixed`: {} workers; logins capped at {} in flight (the product throttles \
         at 20 reserved attempts per client address); {} gRPC channels per service",
        c.concurrency, c.warmup_s, c.duration_s, c.storm_concurrency, c.login_concurrency, c.grpc_channels
    );
    let _ = writeln!(
        s,
        "- Endpoints: REST {} · gRPC auth {} · tenancy {} · work {}",
        c.gateway, c.auth_grpc, c.tenancy_grpc, c.work_grpc
    );
    let f = &r.fixtures;
    let _ = writeln!(
        s,
        "- Fixtures (via {}): organization {} (PRO), {} projects, {} tasks in the listed project, {} login users",
        f.via,
        if f.organization_id.is_empty() { "—" } else { &f.organization_id },
        f.projects_created,
        f.tasks_created,
        f.login_emails.len()
    );
    for note in f.notes.iter().chain(&r.notes) {
        let _ = writeln!(s, "- Note: {note}");
    }
    let _ = writeln!(s, "\n## Results\n");
    let _ = writeln!(
        s,
        "req/s counts successful requests completed inside the measured window; `late` = requests \
         still in flight when it closed (awaited, not counted); latencies are of successful requests. \
         CPU columns are read from /proc over the same window: `CPU busy` is the share of all cores in \
         use, `CPU µs/req (machine)` the CPU time of everything on the machine (suite, PostgreSQL, \
         load tool) per successful request, `(tracked)` that of each `--pids` process, \
         `(suite + PG)` that of the tracked processes and the PostgreSQL server together (the \
         postmaster and all its children, `--pg-pid`/`--pg-data`) and `(PG)` PostgreSQL's alone. CPU per \
         request separates what a request costs from how much of the machine the run got, though on \
         a virtual machine it still moves with the host's load.\n"
    );
    let _ = writeln!(
        s,
        "| scenario | transport | request | workers | requests | req/s | p50 ms | p90 ms | p99 ms | max ms | errors | late | CPU busy | CPU µs/req (machine) | CPU µs/req (tracked) | CPU µs/req (suite + PG) | CPU µs/req (PG) |"
    );
    let _ =
        writeln!(s, "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for x in &r.results {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {:.0} | {} | {} | {} | {} | {} | {} | {:.0} % | {} | {} | {} | {} |",
            x.scenario,
            x.transport,
            x.what,
            x.concurrency,
            x.requests,
            x.req_per_sec,
            ms(x.p50_ms),
            ms(x.p90_ms),
            ms(x.p99_ms),
            ms(x.max_ms),
            x.errors,
            x.in_flight_at_end,
            x.cpu.machine_busy_pct,
            x.machine_cpu_us_per_req.map(|v| format!("{v:.0}")).unwrap_or_else(|| "—".to_owned()),
            if x.process_cpu_us_per_req.is_empty() {
                "—".to_owned()
            } else {
                x.process_cpu_us_per_req
                    .iter()
                    .map(|(name, v)| format!("{name} {v:.0}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            },
            x.suite_and_postgres_cpu_us_per_req.map(|v| format!("{v:.0}")).unwrap_or_else(|| "—".to_owned()),
            x.postgres_cpu_us_per_req.map(|v| format!("{v:.0}")).unwrap_or_else(|| "—".to_owned()),
        );
    }
    for x in r.results.iter().filter(|x| x.storm.is_some()) {
        if let Some(st) = &x.storm {
            let _ = writeln!(
                s,
                "\n`mixed` ({}): users_me p99 {} ms with the storm vs {} ms without; storm: {} workers, \
                 {} logins ({:.1}/s, p99 {} ms, {} errors).",
                x.transport,
                ms(x.p99_ms),
                ms(x.baseline_p99_ms),
                st.concurrency,
                st.logins,
                st.logins_per_sec,
                ms(st.p99_ms),
                st.errors
            );
        }
    }
    let with_errors: Vec<_> =
        r.results.iter().filter(|x| !x.error_samples.is_empty() || !x.notes.is_empty()).collect();
    if !with_errors.is_empty() {
        let _ = writeln!(s, "\n### Notes and errors\n");
        for x in with_errors {
            for e in x.notes.iter().chain(&x.error_samples) {
                let _ = writeln!(s, "- {} / {}: `{}`", x.scenario, x.transport, e.replace('`', "'"));
            }
        }
    }
    let _ = writeln!(s, "\n## Ceilings\n");
    match &r.bcrypt {
        Some(b) => {
            let _ = writeln!(
                s,
                "- bcrypt: one cost-{} hash takes {:.1} ms in the load tool → ceiling {} cores ÷ that = {:.1} logins/s",
                b.cost, b.hash_ms, b.cores, b.logins_per_sec
            );
        }
        None => {
            let _ = writeln!(s, "- bcrypt: not measured");
        }
    }
    match &r.pgbench {
        Some(p) => {
            let tps = p.tps.map_or("—".to_owned(), |t| format!("{t:.0}"));
            let _ =
                writeln!(s, "- pgbench select-only (scale {}, {} clients): {tps} tps", p.scale, p.clients);
            let _ = writeln!(s, "  - `{}`", p.command);
            if let Some(e) = &p.error {
                let _ = writeln!(s, "  - error: {}", e.replace('\n', " "));
            }
        }
        None => {
            let _ = writeln!(s, "- pgbench: not run (no --pgbench-url)");
        }
    }
    let _ = writeln!(s, "\n## Memory (peak RSS)\n");
    if r.processes.is_empty() {
        let _ = writeln!(s, "No process tracked (no --pids).");
    }
    for (name, p) in &r.processes {
        let _ = writeln!(
            s,
            "- {name} (pid {}): peak {:.1} MiB (max sampled VmRSS {:.1} MiB, VmHWM {:.1} MiB, {} samples){}",
            p.pid,
            p.peak_mib(),
            p.max_rss_mib,
            p.hwm_mib,
            p.samples,
            p.error.as_ref().map(|e| format!("; {e}")).unwrap_or_default()
        );
    }
    let _ = writeln!(s, "\n## Targets (issue 7)\n");
    let _ = writeln!(s, "| target | measured | status |");
    let _ = writeln!(s, "|---|---|---|");
    for t in &r.targets {
        let _ = writeln!(s, "| {} | {} | **{}** |", t.target, t.measured, t.status);
    }
    s
}
