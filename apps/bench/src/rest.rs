//! REST client for the load: one HTTP/1.1 keep-alive connection per worker, driven by hyper's
//! low-level `client::conn::http1` (no pool, no locks on the hot path). A broken connection is
//! dropped and re-opened on the next request. Requests are pre-built ([`Prepared`]) so a call
//! only clones a few `Bytes`/header values.

use std::sync::Arc;

use anyhow::Context;
use bytes::Bytes;
use http::header::{AUTHORIZATION, CONTENT_TYPE, HOST};
use http::{HeaderMap, HeaderValue, Method, Request, StatusCode, Uri};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;

use crate::driver::Failure;

/// Where the gateway is: the TCP address to connect to, the `Host` header and the path prefix
/// (`/api/v1`).
#[derive(Debug)]
pub struct RestTarget {
    connect: String,
    host: HeaderValue,
    base: String,
}

impl RestTarget {
    /// Parses `http://host:port/api/v1`.
    pub fn parse(url: &str) -> anyhow::Result<Arc<Self>> {
        let uri: Uri = url.parse().with_context(|| format!("--gateway {url:?} is not a URL"))?;
        anyhow::ensure!(uri.scheme_str() == Some("http"), "--gateway: only http:// is supported");
        let authority = uri.authority().context("--gateway has no host")?;
        let port = authority.port_u16().unwrap_or(80);
        let connect = format!("{}:{port}", authority.host());
        let host = HeaderValue::from_str(authority.as_str())?;
        let base = uri.path().trim_end_matches('/').to_owned();
        Ok(Arc::new(Self { connect, host, base }))
    }
}

/// A request ready to send any number of times.
#[derive(Clone)]
pub struct Prepared {
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
    expect: StatusCode,
}

impl Prepared {
    /// `path` is relative to the API base (`/users/me`); `token` and `org` become the
    /// `authorization` and `x-organization-id` headers.
    pub fn new(
        target: &RestTarget,
        method: Method,
        path: &str,
        token: Option<&str>,
        org: Option<&str>,
        body: Option<&serde_json::Value>,
        expect: StatusCode,
    ) -> anyhow::Result<Self> {
        let uri: Uri = format!("{}{path}", target.base).parse()?;
        let mut headers = HeaderMap::new();
        headers.insert(HOST, target.host.clone());
        if let Some(token) = token {
            headers.insert(AUTHORIZATION, HeaderValue::from_str(&format!("Bearer {token}"))?);
        }
        if let Some(org) = org {
            headers.insert("x-organization-id", HeaderValue::from_str(org)?);
        }
        let body = match body {
            Some(value) => {
                headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
                Bytes::from(serde_json::to_vec(value)?)
            }
            None => Bytes::new(),
        };
        Ok(Self { method, uri, headers, body, expect })
    }

    /// The same request at `path` from the server's root instead of the API base (`/health`).
    pub fn at_root(mut self, path: &str) -> anyhow::Result<Self> {
        self.uri = path.parse()?;
        Ok(self)
    }

    /// The same request with another JSON body (for refresh chains).
    pub fn with_body(&self, body: Bytes) -> Self {
        Self { body, ..self.clone() }
    }

    /// The same request with one more header.
    pub fn with_header(&self, name: &'static str, value: &str) -> Result<Self, Failure> {
        let mut headers = self.headers.clone();
        let value = HeaderValue::from_str(value).map_err(|e| Failure::new("header", e.to_string()))?;
        headers.insert(name, value);
        Ok(Self { headers, ..self.clone() })
    }

    fn build(&self) -> Request<Full<Bytes>> {
        let mut request = Request::new(Full::new(self.body.clone()));
        *request.method_mut() = self.method.clone();
        *request.uri_mut() = self.uri.clone();
        *request.headers_mut() = self.headers.clone();
        request
    }
}

/// One keep-alive connection to the gateway.
pub struct RestConn {
    target: Arc<RestTarget>,
    sender: Option<SendRequest<Full<Bytes>>>,
}

impl RestConn {
    pub fn new(target: Arc<RestTarget>) -> Self {
        Self { target, sender: None }
    }

    async fn connect(&self) -> Result<SendRequest<Full<Bytes>>, Failure> {
        let stream = tokio::net::TcpStream::connect(&self.target.connect)
            .await
            .map_err(|e| Failure::new("connect", format!("{}: {e}", self.target.connect)))?;
        let _ = stream.set_nodelay(true);
        let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| Failure::new("connect", e.to_string()))?;
        tokio::spawn(async move {
            let _ = connection.await;
        });
        Ok(sender)
    }

    /// Sends the request and reads the whole body; a status other than the expected one is a
    /// failure carrying the start of the body.
    pub async fn send(&mut self, prepared: &Prepared) -> Result<Bytes, Failure> {
        let mut sender = match self.sender.take() {
            Some(s) if !s.is_closed() => s,
            _ => self.connect().await?,
        };
        if sender.ready().await.is_err() {
            sender = self.connect().await?;
            sender.ready().await.map_err(|e| Failure::new("connection", e.to_string()))?;
        }
        let response =
            sender.send_request(prepared.build()).await.map_err(|e| Failure::new("io", e.to_string()))?;
        let status = response.status();
        let body =
            response.into_body().collect().await.map_err(|e| Failure::new("io", e.to_string()))?.to_bytes();
        self.sender = Some(sender);
        if status != prepared.expect {
            return Err(Failure::new(format!("http {}", status.as_u16()), String::from_utf8_lossy(&body)));
        }
        Ok(body)
    }
}
