//! The closed-loop load driver: N workers, each owning its own connection state (an [`Op`]),
//! issue one request after another for `warmup + duration`. Only requests that *complete*
//! inside the measured window (after the warm-up) count; requests still in flight at the end
//! are awaited (so their server work does not leak into the next scenario) and only counted as
//! "late". Latencies go into a per-worker HDR histogram (microseconds) that is merged once at
//! the end, so the hot loop shares nothing between workers.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::system::{CpuSnapshot, CpuWindow};

use futures::future::BoxFuture;
use hdrhistogram::Histogram;
use tokio::sync::RwLock;

/// Largest latency the histograms hold (60 s, in microseconds); longer ones are clamped.
const MAX_MICROS: u64 = 60_000_000;
/// Error samples kept per worker and per scenario.
const MAX_SAMPLES: usize = 5;
/// Pause after a failed request, so a dead endpoint is not hammered in a tight loop.
const ERROR_BACKOFF: Duration = Duration::from_millis(5);

/// Successful requests completed by every worker so far (warm-up included), read around the
/// window hook so a profiler that starts counting when the hook returns gets the exact number
/// of requests it saw.
static COMPLETED: AtomicU64 = AtomicU64::new(0);

/// A command run when the measured window opens (`CMD start LABEL`) and when it closes
/// (`CMD end LABEL N`, N = successful requests completed between the two calls), awaited each
/// time: `.ci/profile` uses it to switch callgrind's instrumentation on and off in the suite
/// and PostgreSQL processes. While it runs no request is in flight (the workers wait at a gate,
/// and the hook waits for the requests in flight to finish), so N is exact.
#[derive(Debug, Clone)]
pub struct WindowHook {
    pub command: String,
    pub label: String,
}

impl WindowHook {
    async fn run(&self, args: &[&str]) {
        let script = format!("{} \"$@\"", self.command);
        let status = tokio::process::Command::new("sh")
            .arg("-c")
            .arg(script)
            .arg("window-hook")
            .args(args)
            .status()
            .await;
        match status {
            Ok(s) if s.success() => {}
            Ok(s) => eprintln!("window hook {:?} {args:?} failed: {s}", self.command),
            Err(e) => eprintln!("window hook {:?} {args:?} could not start: {e}", self.command),
        }
    }
}

/// Why one request failed: a short code (HTTP status, gRPC code or `connect`) and the start of
/// the answer's body or message.
#[derive(Debug, Clone)]
pub struct Failure {
    pub code: String,
    pub detail: String,
}

impl Failure {
    pub fn new(code: impl Into<String>, detail: impl Into<String>) -> Self {
        let mut detail: String = detail.into();
        if detail.len() > 300 {
            let mut cut = 300;
            while !detail.is_char_boundary(cut) {
                cut -= 1;
            }
            detail.truncate(cut);
            detail.push('…');
        }
        Self { code: code.into(), detail }
    }

    pub fn from_status(status: &tonic::Status) -> Self {
        Self::new(format!("grpc {:?}", status.code()), status.message())
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.detail)
    }
}

/// One worker's request loop body: issues exactly one request.
pub trait Op: Send + 'static {
    fn call(&mut self) -> BoxFuture<'_, Result<(), Failure>>;
}

/// Timing of one measured run.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    pub warmup: Duration,
    pub duration: Duration,
}

/// What a run measured, merged over its workers.
pub struct Measured {
    pub ok: u64,
    /// Requests still in flight when the window closed (awaited, not counted).
    pub discarded: u64,
    pub errors: u64,
    /// Latencies of successful requests, microseconds.
    pub hist: Histogram<u64>,
    /// First few distinct failures.
    pub samples: Vec<Failure>,
    pub duration: Duration,
}

impl Measured {
    fn empty(duration: Duration) -> anyhow::Result<Self> {
        Ok(Self { ok: 0, discarded: 0, errors: 0, hist: new_hist()?, samples: Vec::new(), duration })
    }

    pub fn ok_per_sec(&self) -> f64 {
        self.ok as f64 / self.duration.as_secs_f64().max(1e-9)
    }

    /// Percentile in milliseconds; `None` without successful requests.
    pub fn percentile_ms(&self, q: f64) -> Option<f64> {
        (!self.hist.is_empty()).then(|| self.hist.value_at_quantile(q) as f64 / 1000.0)
    }

    pub fn max_ms(&self) -> Option<f64> {
        (!self.hist.is_empty()).then(|| self.hist.max() as f64 / 1000.0)
    }

    fn absorb(&mut self, other: Worker) -> anyhow::Result<()> {
        self.ok += other.ok;
        self.discarded += other.discarded;
        self.errors += other.errors;
        self.hist.add(&other.hist).map_err(|e| anyhow::anyhow!("merging histograms: {e}"))?;
        for s in other.samples {
            if self.samples.len() < MAX_SAMPLES
                && !self.samples.iter().any(|k| k.code == s.code && k.detail == s.detail)
            {
                self.samples.push(s);
            }
        }
        Ok(())
    }
}

fn new_hist() -> anyhow::Result<Histogram<u64>> {
    Histogram::new_with_bounds(1, MAX_MICROS, 3).map_err(|e| anyhow::anyhow!("histogram: {e}"))
}

struct Worker {
    ok: u64,
    discarded: u64,
    errors: u64,
    hist: Histogram<u64>,
    samples: Vec<Failure>,
}

type Gate = Option<Arc<RwLock<()>>>;

async fn work(
    mut op: Box<dyn Op>,
    start: Instant,
    measure_from: Instant,
    end: Instant,
    gate: Gate,
) -> anyhow::Result<Worker> {
    let mut w = Worker { ok: 0, discarded: 0, errors: 0, hist: new_hist()?, samples: Vec::new() };
    tokio::time::sleep_until(start.into()).await;
    loop {
        let t0 = Instant::now();
        if t0 >= end {
            break;
        }
        let pass = match &gate {
            Some(gate) => Some(gate.read().await),
            None => None,
        };
        let result = op.call().await;
        drop(pass);
        // Counted by completion time: a request that ends inside the window counts, whenever it
        // started (so slow operations such as bcrypt logins are still measured); one that ends
        // after the window is discarded.
        let done = Instant::now();
        let measured = done >= measure_from && done <= end;
        w.discarded += u64::from(done > end);
        match result {
            Ok(()) => {
                COMPLETED.fetch_add(1, Ordering::Relaxed);
                if measured {
                    w.ok += 1;
                    let micros = ((done - t0).as_micros() as u64).clamp(1, MAX_MICROS);
                    // Cannot fail: the value is clamped into the histogram's bounds.
                    let _ = w.hist.record(micros);
                }
            }
            Err(failure) => {
                if measured {
                    w.errors += 1;
                    if w.samples.len() < MAX_SAMPLES {
                        w.samples.push(failure);
                    }
                }
                tokio::time::sleep(ERROR_BACKOFF).await;
            }
        }
    }
    Ok(w)
}

/// Runs every op as its own worker task for `timing.warmup + timing.duration` and merges the
/// results. `background` ops (e.g. a login storm) run over the same window and are measured
/// separately.
///
/// The CPU counters of the machine, of `pids` and of the PostgreSQL server whose postmaster is
/// `postgres` are read when the measured window opens and when it closes ([`CpuWindow`]).
pub async fn drive(
    ops: Vec<Box<dyn Op>>,
    background: Vec<Box<dyn Op>>,
    timing: Timing,
    pids: &[(String, u32)],
    postgres: Option<u32>,
    hook: Option<WindowHook>,
) -> anyhow::Result<(Measured, Option<Measured>, CpuWindow)> {
    // A short delay so every worker starts at the same instant.
    let start = Instant::now() + Duration::from_millis(50);
    let measure_from = start + timing.warmup;
    let end = measure_from + timing.duration;
    let cpu_pids = pids.to_vec();
    let gate: Gate = hook.as_ref().map(|_| Arc::new(RwLock::new(())));
    let hook_gate = gate.clone();
    let cpu = tokio::spawn(async move {
        tokio::time::sleep_until(measure_from.into()).await;
        let before = CpuSnapshot::take(&cpu_pids, postgres);
        let mut first = 0;
        if let (Some(hook), Some(gate)) = (&hook, &hook_gate) {
            let _closed = gate.write().await;
            hook.run(&["start", &hook.label]).await;
            first = COMPLETED.load(Ordering::Relaxed);
        }
        tokio::time::sleep_until(end.into()).await;
        if let (Some(hook), Some(gate)) = (&hook, &hook_gate) {
            let _closed = gate.write().await;
            let n = COMPLETED.load(Ordering::Relaxed) - first;
            hook.run(&["end", &hook.label, &n.to_string()]).await;
        }
        before.until(&CpuSnapshot::take(&cpu_pids, postgres))
    });
    let spawn_all = |ops: Vec<Box<dyn Op>>| {
        ops.into_iter()
            .map(|op| tokio::spawn(work(op, start, measure_from, end, gate.clone())))
            .collect::<Vec<_>>()
    };
    let main = spawn_all(ops);
    let has_background = !background.is_empty();
    let bg = spawn_all(background);
    let mut measured = Measured::empty(timing.duration)?;
    for handle in main {
        measured.absorb(handle.await??)?;
    }
    let mut bg_measured = Measured::empty(timing.duration)?;
    for handle in bg {
        bg_measured.absorb(handle.await??)?;
    }
    let cpu = cpu.await?;
    Ok((measured, has_background.then_some(bg_measured), cpu))
}
