//! Tracing setup: `RUST_LOG`-style filtering (`OPERANT_LOG`, default `info`), text or JSON lines.

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber once; later calls are ignored (tests call it freely).
pub fn init(json: bool) {
    let filter = EnvFilter::try_from_env("OPERANT_LOG")
        .or_else(|_| EnvFilter::try_from_default_env())
        .unwrap_or_else(|_| EnvFilter::new("info,h2=warn,hyper=warn,tower=warn"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_target(false);
    let _ = if json { builder.json().flatten_event(true).try_init() } else { builder.try_init() };
}
