//! gRPC plumbing for the load: a few HTTP/2 channels per service shared by all workers
//! (worker `i` uses channel `i % n`), and pre-parsed metadata (`authorization`,
//! `x-organization-id`) cloned into each request.

use anyhow::Context;
use tonic::metadata::{MetadataMap, MetadataValue};
use tonic::transport::{Channel, Endpoint};

/// Channels to the three services.
#[derive(Clone)]
pub struct Channels {
    pub auth: Vec<Channel>,
    pub tenancy: Vec<Channel>,
    pub work: Vec<Channel>,
}

fn channels(url: &str, n: usize) -> anyhow::Result<Vec<Channel>> {
    let endpoint = Endpoint::from_shared(url.to_owned())
        .with_context(|| format!("{url:?} is not a gRPC URL"))?
        .tcp_nodelay(true)
        .connect_timeout(std::time::Duration::from_secs(3));
    Ok((0..n.max(1)).map(|_| endpoint.connect_lazy()).collect())
}

impl Channels {
    pub fn new(auth: &str, tenancy: &str, work: &str, n: usize) -> anyhow::Result<Self> {
        Ok(Self { auth: channels(auth, n)?, tenancy: channels(tenancy, n)?, work: channels(work, n)? })
    }

    pub fn auth(&self, worker: usize) -> Channel {
        self.auth[worker % self.auth.len()].clone()
    }

    pub fn tenancy(&self, worker: usize) -> Channel {
        self.tenancy[worker % self.tenancy.len()].clone()
    }

    pub fn work(&self, worker: usize) -> Channel {
        self.work[worker % self.work.len()].clone()
    }
}

/// Metadata carrying the access token and, when given, the organization.
pub fn metadata(token: Option<&str>, org: Option<&str>) -> anyhow::Result<MetadataMap> {
    let mut md = MetadataMap::new();
    if let Some(token) = token {
        md.insert("authorization", MetadataValue::try_from(format!("Bearer {token}"))?);
    }
    if let Some(org) = org {
        md.insert("x-organization-id", MetadataValue::try_from(org)?);
    }
    Ok(md)
}

/// A request with the given message and metadata.
pub fn request<T>(message: T, md: &MetadataMap) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    *request.metadata_mut() = md.clone();
    request
}
