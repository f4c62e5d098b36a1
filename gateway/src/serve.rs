//! The gateway's accept loop and connection limits, for plain TCP and TLS alike. `axum::serve`
//! exposes none of hyper's timeouts, so connections are served here with hyper-util's `auto`
//! builder (HTTP/1.1 and HTTP/2, with upgrades), each one getting:
//!
//! - a permit of [`Limits::max_connections`]: at the cap the loop stops accepting, so new
//!   connections wait in the kernel's listen backlog (and, once it is full, the client's SYN
//!   retries) instead of being refused; they are served as soon as a connection closes;
//! - TCP_NODELAY (a response written in two segments must not wait for a delayed ACK);
//! - [`Limits::header_read_timeout`] as: the bound on the TLS handshake; the bound on the first
//!   bytes of the connection ([`FirstBytes`]: hyper detects HTTP/1 or HTTP/2 from them, with no
//!   timeout of its own); hyper's HTTP/1 `header_read_timeout`, which runs from the moment it
//!   starts reading a request head (the first one, and each one on an idle keep-alive
//!   connection) until the head is complete; and on HTTP/2 the keep-alive ping timeout (a peer
//!   that stops answering pings is dropped);
//! - the client address as `ConnectInfo<SocketAddr>` (read by `upstream` for `x-forwarded-for`
//!   and by the rate limits).
//!
//! On shutdown the loop stops accepting, and every connection stops taking requests and finishes
//! the ones in flight (the caller bounds that by `OPERANT_SHUTDOWN_GRACE`).

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use operant_platform::config::Settings;
use operant_platform::shutdown::Shutdown;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::time::Sleep;
use tokio_rustls::TlsAcceptor;
use tower::Service as _;

/// How often an HTTP/2 connection is pinged (a silent peer is dropped when a ping goes
/// unanswered for [`Limits::header_read_timeout`]).
const H2_KEEPALIVE_INTERVAL: Duration = Duration::from_secs(30);

/// The per-connection limits, from `OPERANT_HEADER_READ_TIMEOUT_MS` and `OPERANT_MAX_CONNECTIONS`.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub header_read_timeout: Duration,
    pub max_connections: usize,
}

impl Limits {
    pub fn from_settings(settings: &Settings) -> Self {
        Self { header_read_timeout: settings.header_read_timeout, max_connections: settings.max_connections }
    }
}

/// Serves `app` on `listener` (over TLS when `tls` is set) until `shutdown` fires, then waits for
/// the open connections to finish their requests.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    tls: Option<TlsAcceptor>,
    limits: Limits,
    shutdown: Shutdown,
) -> anyhow::Result<()> {
    let permits = Arc::new(Semaphore::new(limits.max_connections.clamp(1, Semaphore::MAX_PERMITS)));
    let mut connections = tokio::task::JoinSet::new();
    loop {
        let permit = match permits.clone().try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => {
                tracing::warn!(max = limits.max_connections, "connection cap reached: new connections wait");
                tokio::select! {
                    permit = permits.clone().acquire_owned() => permit?,
                    _ = shutdown.wait() => break,
                }
            }
        };
        let (stream, peer): (_, SocketAddr) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors, most likely: retrying at once would spin.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = shutdown.wait() => break,
        };
        if let Err(error) = stream.set_nodelay(true) {
            tracing::debug!(%error, "cannot set TCP_NODELAY");
        }
        let (tls, app, shutdown) = (tls.clone(), app.clone(), shutdown.clone());
        connections.spawn(async move {
            let _permit = permit;
            let timeout = limits.header_read_timeout;
            match tls {
                None => serve_connection(FirstBytes::new(stream, timeout), peer, app, limits, shutdown).await,
                Some(acceptor) => {
                    let Ok(Ok(stream)) = tokio::time::timeout(timeout, acceptor.accept(stream)).await else {
                        return;
                    };
                    serve_connection(FirstBytes::new(stream, timeout), peer, app, limits, shutdown).await
                }
            }
        });
        while connections.try_join_next().is_some() {}
    }
    while connections.join_next().await.is_some() {}
    Ok(())
}

async fn serve_connection<I>(io: I, peer: SocketAddr, app: Router, limits: Limits, shutdown: Shutdown)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |mut request: http::Request<Incoming>| {
        request.extensions_mut().insert(ConnectInfo(peer));
        // A `Router` is always ready, so `call` needs no `poll_ready` first.
        app.clone().call(request)
    });
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder.http1().timer(TokioTimer::new()).header_read_timeout(limits.header_read_timeout);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(H2_KEEPALIVE_INTERVAL)
        .keep_alive_timeout(limits.header_read_timeout);
    let connection = builder.serve_connection_with_upgrades(TokioIo::new(io), service);
    tokio::pin!(connection);
    tokio::select! {
        result = connection.as_mut() => {
            if let Err(error) = result {
                tracing::debug!(%peer, %error, "connection closed with an error");
            }
        }
        _ = shutdown.wait() => {
            connection.as_mut().graceful_shutdown();
            let _ = connection.await;
        }
    }
}

/// The HTTP/2 connection preface. hyper-util tells HTTP/1 from HTTP/2 by reading until the
/// bytes either differ from it or complete it, and waits for them without a timeout.
const PREFACE: &[u8; 24] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// A connection whose protocol must be known before a deadline: while its bytes so far are a
/// strict prefix of [`PREFACE`] (none at all included), a read that would wait past the
/// deadline fails with `TimedOut`, which closes the connection. From the first byte that
/// settles the protocol on (any HTTP/1 request: its method differs from `PRI`), it is the plain
/// connection, so a long request is never cut by this deadline.
pub struct FirstBytes<I> {
    io: I,
    matched: usize,
    deadline: Option<Pin<Box<Sleep>>>,
}

impl<I> FirstBytes<I> {
    pub fn new(io: I, timeout: Duration) -> Self {
        Self { io, matched: 0, deadline: Some(Box::pin(tokio::time::sleep(timeout))) }
    }

    /// Follows the preface through `read`; drops the deadline once the protocol is settled.
    fn observe(&mut self, read: &[u8]) {
        if self.deadline.is_none() {
            return;
        }
        let rest = &PREFACE[self.matched..];
        let n = read.len().min(rest.len());
        if read.is_empty() || read[..n] != rest[..n] || self.matched + n == PREFACE.len() {
            self.deadline = None;
        } else {
            self.matched += n;
        }
    }
}

impl<I: AsyncRead + Unpin> AsyncRead for FirstBytes<I> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        match Pin::new(&mut this.io).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                this.observe(&buf.filled()[before..]);
                Poll::Ready(Ok(()))
            }
            Poll::Pending => {
                if let Some(deadline) = this.deadline.as_mut() {
                    ready!(deadline.as_mut().poll(cx));
                    this.deadline = None;
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "no request within the header read timeout",
                    )));
                }
                Poll::Pending
            }
            Poll::Ready(Err(error)) => Poll::Ready(Err(error)),
        }
    }
}

impl<I: AsyncWrite + Unpin> AsyncWrite for FirstBytes<I> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write(cx, data)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write_vectored(cx, data)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }
}
