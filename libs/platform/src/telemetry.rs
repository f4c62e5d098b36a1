//! Tracing setup: `RUST_LOG`-style filtering (`OPERANT_LOG`, default `info`), text or JSON lines.

use std::io::IsTerminal as _;

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber once; later calls are ignored (tests call it freely).
pub fn init(json: bool) {
    let filter = EnvFilter::try_from_env("OPERANT_LOG")
        .or_else(|_| EnvFilter::try_from_default_env())
        .unwrap_or_else(|_| EnvFilter::new("info,h2=warn,hyper=warn,tower=warn"));
    // Colours only for a terminal: in a log file or pipe the escape codes are noise, and writing
    // them into every span's fields cost about 1 % of a request (BENCHMARKS.md).
    let ansi = std::io::stdout().is_terminal();
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_target(false).with_ansi(ansi);
    let _ = if json { builder.json().flatten_event(true).try_init() } else { builder.try_init() };
}
