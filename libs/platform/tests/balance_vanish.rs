//! A replica that vanishes without closing its connections (a killed container, a lost host: no
//! FIN, no RST, packets simply go unanswered) is noticed by the HTTP/2 keep-alive, ejected, and
//! from then on only probed in the background: callers' requests never wait on it again, and
//! once it answers again it gets its share back.
//!
//! Played on loopback with two gRPC servers, each behind a proxy the test can freeze: frozen, a
//! proxy keeps every connection open and passes nothing, and accepts new connections and passes
//! nothing on them either — the network of a host that is gone.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use operant_platform::balance::{self, Balanced, PROBE_HEADER, Target};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tonic::transport::{Endpoint, Server};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

/// A gRPC server (grpc.health.v1) counting callers' requests and probes apart.
struct Pod {
    addr: SocketAddr,
    calls: Arc<AtomicUsize>,
    probes: Arc<AtomicUsize>,
}

async fn pod() -> Pod {
    let listener = TcpListener::bind(("127.0.0.1", 0)).await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let calls = Arc::new(AtomicUsize::new(0));
    let probes = Arc::new(AtomicUsize::new(0));
    let (c, p) = (calls.clone(), probes.clone());
    let (_reporter, health) = tonic_health::server::health_reporter();
    tokio::spawn(async move {
        let _reporter = _reporter;
        Server::builder()
            .layer(tonic::service::InterceptorLayer::new(move |request: tonic::Request<()>| {
                if request.metadata().contains_key(PROBE_HEADER) {
                    p.fetch_add(1, Ordering::SeqCst);
                } else {
                    c.fetch_add(1, Ordering::SeqCst);
                }
                Ok(request)
            }))
            .add_service(health)
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener))
            .await
            .expect("serve");
    });
    Pod { addr, calls, probes }
}

/// A TCP proxy to `upstream` that passes bytes both ways until frozen, and again once thawed.
struct Proxy {
    addr: SocketAddr,
    frozen: Arc<AtomicBool>,
}

impl Proxy {
    async fn start(upstream: SocketAddr) -> Proxy {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await.expect("bind proxy");
        let addr = listener.local_addr().expect("proxy address");
        let frozen = Arc::new(AtomicBool::new(false));
        let flag = frozen.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let flag = flag.clone();
                tokio::spawn(async move {
                    let Ok(server) = TcpStream::connect(upstream).await else { return };
                    let (from_client, to_client) = client.into_split();
                    let (from_server, to_server) = server.into_split();
                    tokio::spawn(pass(from_client, to_server, flag.clone()));
                    pass(from_server, to_client, flag).await;
                });
            }
        });
        Proxy { addr, frozen }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn freeze(&self, frozen: bool) {
        self.frozen.store(frozen, Ordering::SeqCst);
    }
}

/// Copies `from` to `to`; while frozen, what is read is dropped (the packets of a vanished host
/// are lost, and the connection is not closed).
async fn pass(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    frozen: Arc<AtomicBool>,
) {
    let mut buf = vec![0u8; 16 * 1024];
    let mut broken = false;
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        // Once bytes were lost the stream can never be passed on again: the connection is dead
        // for good, as a real one would be after its peer went away.
        broken |= frozen.load(Ordering::SeqCst);
        if !broken && to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}

async fn check(channel: &Balanced) -> Result<Duration, tonic::Status> {
    let started = Instant::now();
    HealthClient::new(channel.clone()).check(HealthCheckRequest { service: String::new() }).await?;
    Ok(started.elapsed())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vanished_replica_is_ejected_after_the_keepalive_and_then_only_probed() {
    let (a, b) = (pod().await, pod().await);
    let (pa, pb) = (Proxy::start(a.addr).await, Proxy::start(b.addr).await);
    let targets = [&pa, &pb]
        .iter()
        .map(|p| {
            let url = p.url();
            let endpoint = balance::configure(Endpoint::from_shared(url.clone()).expect("endpoint"));
            Target::new(&url, endpoint, None)
        })
        .collect();
    let channel = Balanced::new(targets);

    // Both replicas take calls.
    for _ in 0..10 {
        check(&channel).await.expect("warm-up check");
    }
    assert!(a.calls.load(Ordering::SeqCst) >= 4 && b.calls.load(Ordering::SeqCst) >= 4);

    // A vanishes. The first call routed to it waits for the keep-alive to give up on the
    // connection (at most interval + timeout, plus scheduling), then moves on to B: it succeeds.
    pa.freeze(true);
    let a_calls = a.calls.load(Ordering::SeqCst);
    let bound = balance::KEEPALIVE_INTERVAL + balance::KEEPALIVE_TIMEOUT + Duration::from_secs(2);
    for i in 0..4 {
        let took = tokio::time::timeout(bound, check(&channel))
            .await
            .unwrap_or_else(|_| panic!("call {i} still waiting after {bound:?}"))
            .expect("every call succeeds on the live replica");
        assert!(took <= bound, "call {i} took {took:?}");
    }

    // From now on no caller's request goes to A or waits for it, over several probe rounds,
    // while the background probe keeps asking.
    let until = Instant::now() + Duration::from_secs(6);
    let mut slowest = Duration::ZERO;
    let mut n = 0;
    while Instant::now() < until {
        slowest = slowest.max(check(&channel).await.expect("call while A is gone"));
        n += 1;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(slowest < Duration::from_millis(500), "slowest of {n} calls after the ejection: {slowest:?}");
    assert_eq!(a.calls.load(Ordering::SeqCst), a_calls, "frozen A received nothing");

    // A comes back (a new connection is needed: the old one is gone for good, as a real one
    // would be). The probe finds it within a few probe rounds and A takes calls again.
    pa.freeze(false);
    let probes_before = a.probes.load(Ordering::SeqCst);
    let deadline = Instant::now() + Duration::from_secs(10);
    let back = loop {
        check(&channel).await.expect("call while A comes back");
        if a.calls.load(Ordering::SeqCst) > a_calls {
            break true;
        }
        if Instant::now() > deadline {
            break false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(back, "A never rejoined");
    assert!(
        a.probes.load(Ordering::SeqCst) > probes_before,
        "A was brought back by a probe, not a caller's request"
    );
}
