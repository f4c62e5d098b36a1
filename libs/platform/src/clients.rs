//! Channels to other services.
//!
//! Each client takes a list of endpoints (balanced per request, with ejection of dead ones,
//! retries, and host names re-resolved so every replica behind a name is used:
//! [`crate::balance`]), connects lazily (a service may start before the ones it calls) and presents the service
//! credential in `x-operant-service-token`.

use anyhow::Context;
use tonic::metadata::{AsciiMetadataValue, MetadataMap};
use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Certificate, ClientTlsConfig, Endpoint};

use crate::balance::{self, Balanced, Target};
use crate::config::TlsConfig;
use crate::headers::{REQUEST_ID_HEADER, SERVICE_TOKEN_HEADER, TRACEPARENT_HEADER};

/// A channel that presents the service credential on every call.
pub type ServiceChannel = InterceptedService<Balanced, ServiceCredentials>;

/// Adds the service credential (and nothing else) to every outgoing call.
#[derive(Clone)]
pub struct ServiceCredentials {
    token: AsciiMetadataValue,
}

impl ServiceCredentials {
    pub fn new(token: &str) -> anyhow::Result<Self> {
        Ok(Self { token: token.parse().context("OPERANT_SERVICE_TOKEN must be printable ASCII")? })
    }

    /// Adds the credential to a metadata map (for requests built by hand), and, inside a
    /// request, its request id and the `traceparent` of the current server span, which becomes
    /// the parent of the callee's span (see [`crate::trace`]).
    pub fn apply(&self, metadata: &mut MetadataMap) {
        metadata.insert(SERVICE_TOKEN_HEADER, self.token.clone());
        if let Some(context) = crate::trace::current() {
            if !metadata.contains_key(REQUEST_ID_HEADER)
                && let Ok(value) = context.request_id.parse()
            {
                metadata.insert(REQUEST_ID_HEADER, value);
            }
            if let Ok(value) = context.trace.to_string().parse() {
                metadata.insert(TRACEPARENT_HEADER, value);
            }
        }
    }
}

impl Interceptor for ServiceCredentials {
    fn call(&mut self, mut request: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        self.apply(request.metadata_mut());
        Ok(request)
    }
}

/// A lazily connecting channel balanced over `urls` (see [`crate::balance`]).
pub fn channel(urls: &[String], tls: &TlsConfig) -> anyhow::Result<Balanced> {
    anyhow::ensure!(!urls.is_empty(), "no endpoint configured");
    let tls_config = match &tls.ca {
        Some(ca) => {
            let pem = std::fs::read(ca).with_context(|| format!("read {}", ca.display()))?;
            Some(ClientTlsConfig::new().ca_certificate(Certificate::from_pem(pem)))
        }
        None => None,
    };
    let mut targets = Vec::with_capacity(urls.len());
    for url in urls {
        let mut endpoint = balance::configure(
            Endpoint::from_shared(url.clone()).with_context(|| format!("bad endpoint URL {url:?}"))?,
        );
        if let Some(tls_config) = &tls_config {
            endpoint = endpoint.tls_config(tls_config.clone())?;
        }
        targets.push(Target::new(url, endpoint, tls_config.clone()));
    }
    Ok(Balanced::new(targets))
}

/// [`channel`] with the service credential attached.
pub fn service_channel(urls: &[String], tls: &TlsConfig, token: &str) -> anyhow::Result<ServiceChannel> {
    Ok(InterceptedService::new(channel(urls, tls)?, ServiceCredentials::new(token)?))
}
