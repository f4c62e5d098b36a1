//! [`LosingProxy`]: a TCP proxy that forwards every request and loses its answer, for the
//! "crash after commit, before the answer" retry of `Idempotency-Key`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::io::AsyncReadExt;
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
