//! [`LosingProxy`]: a TCP proxy that forwards every request and loses its answer, for the
//! "crash after commit, before the answer" retry of `Idempotency-Key`. [`HoldingProxy`]: one
//! that can hold back what the upstream sends for a while (a slow network or a stalled peer).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// A TCP proxy in front of `upstream` that passes every byte the client sends on, waits for the
/// first byte of the upstream's answer (a REST answer starts only once its handler has finished,
/// so the effect is committed by then) and then closes both connections without passing any of
/// it back: the client sees its request fail although it took effect, exactly as if the server
/// had crashed right after the commit.
pub struct LosingProxy {
    pub addr: SocketAddr,
    lost: Arc<AtomicUsize>,
    task: JoinHandle<()>,
}

impl LosingProxy {
    pub async fn start(upstream: SocketAddr) -> LosingProxy {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await.expect("bind proxy");
        let addr = listener.local_addr().expect("proxy address");
        let lost = Arc::new(AtomicUsize::new(0));
        let counter = lost.clone();
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                tokio::spawn(lose_answer(client, upstream, counter.clone()));
            }
        });
        LosingProxy { addr, lost, task }
    }

    /// `http://<addr>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// How many answers were lost (begun by the upstream and never passed on).
    pub fn lost(&self) -> usize {
        self.lost.load(Ordering::SeqCst)
    }
}

impl Drop for LosingProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn lose_answer(client: TcpStream, upstream: SocketAddr, lost: Arc<AtomicUsize>) {
    let Ok(server) = TcpStream::connect(upstream).await else { return };
    let (mut from_client, to_client) = client.into_split();
    let (mut from_server, mut to_server) = server.into_split();
    let forward = tokio::spawn(async move {
        let _ = tokio::io::copy(&mut from_client, &mut to_server).await;
    });
    let mut first = [0u8; 1];
    if matches!(from_server.read(&mut first).await, Ok(n) if n > 0) {
        lost.fetch_add(1, Ordering::SeqCst);
    }
    forward.abort();
    drop(to_client);
    drop(from_server);
}

/// A TCP proxy in front of `upstream` that passes every byte on, both ways, except that while
/// [`HoldingProxy::hold`] is on, what the upstream sends is kept back (in order, nothing lost)
/// until [`HoldingProxy::release`]: to the client the upstream has stalled.
pub struct HoldingProxy {
    pub addr: SocketAddr,
    held: Arc<AtomicBool>,
    task: JoinHandle<()>,
}

impl HoldingProxy {
    pub async fn start(upstream: SocketAddr) -> HoldingProxy {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await.expect("bind proxy");
        let addr = listener.local_addr().expect("proxy address");
        let held = Arc::new(AtomicBool::new(false));
        let switch = held.clone();
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                tokio::spawn(pass_unless_held(client, upstream, switch.clone()));
            }
        });
        HoldingProxy { addr, held, task }
    }

    /// `http://<addr>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// From now on, what the upstream sends is kept back.
    pub fn hold(&self) {
        self.held.store(true, Ordering::SeqCst);
    }

    /// Passes on what was kept back, and everything after it.
    pub fn release(&self) {
        self.held.store(false, Ordering::SeqCst);
    }
}

impl Drop for HoldingProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn pass_unless_held(client: TcpStream, upstream: SocketAddr, held: Arc<AtomicBool>) {
    let Ok(server) = TcpStream::connect(upstream).await else { return };
    let _ = (client.set_nodelay(true), server.set_nodelay(true));
    let (mut from_client, mut to_client) = client.into_split();
    let (mut from_server, mut to_server) = server.into_split();
    let forward = tokio::spawn(async move {
        let _ = tokio::io::copy(&mut from_client, &mut to_server).await;
    });
    let mut buffer = vec![0u8; 64 * 1024];
    while let Ok(n) = from_server.read(&mut buffer).await
        && n > 0
    {
        while held.load(Ordering::SeqCst) {
            tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        }
        if to_client.write_all(&buffer[..n]).await.is_err() {
            break;
        }
    }
    forward.abort();
}
