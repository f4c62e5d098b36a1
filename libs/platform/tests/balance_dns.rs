//! Host names behind a balanced channel are re-resolved, and every address they resolve to gets
//! its share of the calls: the Kubernetes headless-Service case (one name, one address per
//! ready pod, all on the same port), played on loopback with three "pods" on 127.0.0.1,
//! 127.0.0.2 and 127.0.0.3 and a resolver whose answer the test changes.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::BoxFuture;
use operant_platform::balance::{Balanced, Resolve, SystemResolver, Target};
use tokio::net::TcpListener;
use tonic::transport::{Endpoint, Server};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

/// A resolver answering what the test last set (`None`: the name does not resolve), counting
/// the times it was asked.
struct Scripted(Mutex<(Option<Vec<SocketAddr>>, usize)>);

impl Scripted {
    fn new(answer: Option<Vec<SocketAddr>>) -> Self {
        Scripted(Mutex::new((answer, 0)))
    }

    /// Sets the answer; returns how often the resolver had been asked until now (every later
    /// question gets this answer).
    fn set(&self, answer: Option<Vec<SocketAddr>>) -> usize {
        let mut state = self.0.lock().expect("lock");
        state.0 = answer;
        state.1
    }

    fn asked(&self) -> usize {
        self.0.lock().expect("lock").1
    }
}

impl Resolve for Scripted {
    fn resolve(&self, _host: &str, _port: u16) -> BoxFuture<'static, std::io::Result<Vec<SocketAddr>>> {
        let answer = {
            let mut state = self.0.lock().expect("lock");
            state.1 += 1;
            state.0.clone()
        };
        Box::pin(async move { answer.ok_or_else(|| std::io::Error::other("NXDOMAIN")) })
    }
}

/// A gRPC server (grpc.health.v1) on `ip:port` that counts the calls it answers.
async fn pod(ip: Ipv4Addr, port: u16) -> (SocketAddr, Arc<AtomicUsize>) {
    let listener = TcpListener::bind((ip, port)).await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let (_reporter, health) = tonic_health::server::health_reporter();
    tokio::spawn(async move {
        Server::builder()
            .layer(tonic::service::InterceptorLayer::new(move |request| {
                counter.fetch_add(1, Ordering::SeqCst);
                Ok(request)
            }))
            .add_service(health)
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener))
            .await
            .expect("serve");
    });
    (addr, calls)
}

async fn checks(channel: &Balanced, n: usize) -> usize {
    let mut ok = 0;
    for _ in 0..n {
        let mut client = HealthClient::new(channel.clone());
        if client.check(HealthCheckRequest { service: String::new() }).await.is_ok() {
            ok += 1;
        }
    }
    ok
}

fn reset(counters: &[&Arc<AtomicUsize>]) {
    for c in counters {
        c.store(0, Ordering::SeqCst);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_name_is_balanced_over_every_address_it_resolves_to_and_followed_as_it_changes() {
    let first = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = first.local_addr().expect("addr").port();
    drop(first);
    let (a, calls_a) = pod(Ipv4Addr::new(127, 0, 0, 1), port).await;
    let (b, calls_b) = pod(Ipv4Addr::new(127, 0, 0, 2), port).await;
    let (c, calls_c) = pod(Ipv4Addr::new(127, 0, 0, 3), port).await;

    let resolver = Arc::new(Scripted::new(Some(vec![a, b])));
    let url = format!("http://work-headless.test:{port}");
    let endpoint = Endpoint::from_shared(url.clone()).expect("url");
    let channel = Balanced::with_resolver(
        vec![Target::new(&url, endpoint, None)],
        resolver.clone(),
        Duration::from_millis(200),
    );
    assert_eq!(channel.addresses(), vec![vec![None]], "nothing resolved before the first use");

    // Two pods: both get calls.
    channel.resolve_now().await;
    assert_eq!(channel.addresses(), vec![vec![Some(a), Some(b)]]);
    assert_eq!(checks(&channel, 40).await, 40);
    let (na, nb) = (calls_a.load(Ordering::SeqCst), calls_b.load(Ordering::SeqCst));
    assert!(na >= 15 && nb >= 15, "calls per pod: {na} and {nb}");
    assert_eq!(calls_c.load(Ordering::SeqCst), 0);

    // A pod goes away and another appears: picked up by the calls themselves, no restart.
    resolver.set(Some(vec![b, c]));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while channel.addresses() != vec![vec![Some(b), Some(c)]] {
        assert!(tokio::time::Instant::now() < deadline, "not re-resolved: {:?}", channel.addresses());
        checks(&channel, 1).await;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    reset(&[&calls_a, &calls_b, &calls_c]);
    assert_eq!(checks(&channel, 40).await, 40);
    let (na, nb, nc) =
        (calls_a.load(Ordering::SeqCst), calls_b.load(Ordering::SeqCst), calls_c.load(Ordering::SeqCst));
    assert_eq!(na, 0, "the removed pod gets nothing");
    assert!(nb >= 15 && nc >= 15, "calls per pod: {nb} and {nc}");

    // The name stops resolving: the last addresses are kept and calls still succeed. Checked
    // once a failed re-resolution has observably been handled: re-resolutions run one at a
    // time, so when the resolver is asked a second time after the change, the first NXDOMAIN
    // answer has been applied.
    let asked = resolver.set(None);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while resolver.asked() < asked + 2 {
        assert!(tokio::time::Instant::now() < deadline, "not re-resolved after the name went away");
        checks(&channel, 1).await;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(checks(&channel, 10).await, 10);
    assert_eq!(channel.addresses(), vec![vec![Some(b), Some(c)]]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_system_resolver_is_used_for_names_and_ip_addresses_are_left_alone() {
    let (addr, calls) = pod(Ipv4Addr::LOCALHOST, 0).await;
    let by_name = format!("http://localhost:{}", addr.port());
    let by_ip = format!("http://{addr}");
    let channel = Balanced::with_resolver(
        vec![
            Target::new(&by_name, Endpoint::from_shared(by_name.clone()).expect("url"), None),
            Target::new(&by_ip, Endpoint::from_shared(by_ip.clone()).expect("url"), None),
        ],
        Arc::new(SystemResolver),
        Duration::from_secs(60),
    );
    channel.resolve_now().await;
    let addresses = channel.addresses();
    assert!(addresses[0].contains(&Some(addr)), "localhost resolved to {:?}", addresses[0]);
    assert_eq!(addresses[1], vec![None], "an IP address is used as it is");
    // Every call succeeds (an address that refuses, such as ::1 here, is skipped).
    assert_eq!(checks(&channel, 10).await, 10);
    assert!(calls.load(Ordering::SeqCst) >= 10);
}
