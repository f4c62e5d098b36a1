//! [`AppState`]: what every handler shares. Kept out of the crate root so that the root (which
//! wires the router) is the only module that uses `routes`, and the modules form no circle.

use std::sync::Arc;

use operant_platform::config::Settings;
use operant_platform::metrics::Metrics;
use operant_platform::otlp::Exporter;

use crate::upstream::Upstream;

/// What every handler shares: the settings, the channels to the services, the metrics and the
/// OTLP exporter.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

struct Inner {
    settings: Arc<Settings>,
    upstream: Upstream,
    metrics: Arc<Metrics>,
    exporter: Exporter,
}

impl AppState {
    /// Creates the (lazily connecting) channels and, when `OPERANT_OTLP_ENDPOINT` is set, the
    /// exporter (which needs a tokio runtime then); fails only on malformed endpoint settings.
    pub fn new(settings: Arc<Settings>) -> anyhow::Result<Self> {
        let upstream = Upstream::new(&settings)?;
        Self::with_upstream(settings, upstream)
    }

    /// [`AppState::new`] with another timeout for each gRPC call.
    pub fn with_upstream_timeout(
        settings: Arc<Settings>,
        timeout: std::time::Duration,
    ) -> anyhow::Result<Self> {
        let upstream = Upstream::new(&settings)?.with_timeout(timeout);
        Self::with_upstream(settings, upstream)
    }

    fn with_upstream(settings: Arc<Settings>, upstream: Upstream) -> anyhow::Result<Self> {
        let metrics = Metrics::new("gateway");
        let exporter = Exporter::from_settings(&settings, "gateway", metrics.clone())?;
        Ok(Self(Arc::new(Inner { settings, upstream, metrics, exporter })))
    }

    pub fn settings(&self) -> &Settings {
        &self.0.settings
    }

    pub fn upstream(&self) -> &Upstream {
        &self.0.upstream
    }

    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.0.metrics
    }

    /// The OTLP exporter (disabled unless `OPERANT_OTLP_ENDPOINT` is set).
    pub fn exporter(&self) -> &Exporter {
        &self.0.exporter
    }
}
