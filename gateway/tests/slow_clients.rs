//! Slow and silent clients cannot take the gateway: 2,000 half-sent requests are held open while
//! normal requests (to the gateway itself and through it to the services) still succeed, and the
//! server closes them after `OPERANT_HEADER_READ_TIMEOUT_MS`; at `OPERANT_MAX_CONNECTIONS` a new
//! connection waits until one closes, then is served. Loopback only, each test bounded in time.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use operant_platform::shutdown::{Shutdown, ShutdownTrigger};
use operant_testkit::TestApp;
use operant_testkit::lone::settings_without_services;
use reqwest::Method;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};

const HELD: usize = 2_000;

/// Each held connection is two descriptors in this process (client and server side); the soft
/// limit is often 1,024, so it is raised to what is needed when the hard limit allows.
fn ensure_descriptors(needed: u64) {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Nofile);
    if limit.current.is_some_and(|current| current < needed) {
        let raised = limit.maximum.map_or(needed, |max| max.min(needed.max(8_192)));
        assert!(
            raised >= needed,
            "this test holds {HELD} connections and needs {needed} file descriptors; the hard limit is {raised}"
        );
        setrlimit(Resource::Nofile, Rlimit { current: Some(raised), maximum: limit.maximum })
            .expect("raise the file-descriptor limit");
    }
}

/// What the held connections send before they fall silent: nothing at all, half a request line,
/// complete request line and half a header, or the start of the HTTP/2 preface.
fn partial_request(i: usize) -> &'static [u8] {
    match i % 4 {
        0 => b"",
        1 => b"GET /openapi.js",
        2 => b"GET /openapi.json HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ",
        _ => b"PRI * HTTP/2.0\r\n",
    }
}

/// Opens a connection, sends a partial request and then nothing; the returned task finishes
/// when the server closes the connection, with what it sent and when.
async fn hold(addr: SocketAddr, i: usize) -> tokio::task::JoinHandle<(Instant, Vec<u8>)> {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    stream.write_all(partial_request(i)).await.expect("write partial request");
    tokio::spawn(async move {
        let mut received = Vec::new();
        // A reset counts as closed as much as an orderly EOF does.
        let _ = stream.read_to_end(&mut received).await;
        (Instant::now(), received)
    })
}

/// What the server may send before closing a half-sent request: nothing, or a 408.
fn assert_closed_politely(received: &[u8]) {
    assert!(
        received.is_empty() || received.starts_with(b"HTTP/1.1 408"),
        "unexpected answer to a half-sent request: {:?}",
        String::from_utf8_lossy(received)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_sent_requests_are_held_without_starving_others_then_closed_after_the_header_timeout() {
    ensure_descriptors(2 * HELD as u64 + 1_000);
    let timeout = Duration::from_secs(5);
    let app = TestApp::init().with_settings(|s| s.header_read_timeout = timeout).spawn().await;
    let api = app.api();

    let started = Instant::now();
    let mut held = Vec::with_capacity(HELD);
    for i in 0..HELD {
        held.push((Instant::now(), hold(app.gateway_addr, i).await));
    }
    let opened = started.elapsed();

    // While all of them are open: the gateway answers by itself and through the services.
    let doc = api.req(Method::GET, "/openapi.json").send().await.expect("GET /openapi.json");
    assert_eq!(doc.status(), 200);
    let health = api.req(Method::GET, "/health").send().await.expect("GET /health");
    assert_eq!(health.status(), 200, "the services answer health checks");
    let user = api.user("slow-clients").await;
    let org = api.create_org(&user, &format!("slow-{}", uuid::Uuid::new_v4().simple())).await;
    let project = api.create_project(&user, &org, "held open").await;
    let got =
        api.call(Method::GET, &format!("/api/v1/projects/{project}"), &user, Some(&org), None, 200).await;
    assert_eq!(got["name"], "held open");
    let served_at = Instant::now();
    let still_open = held.iter().filter(|(_, task)| !task.is_finished()).count();
    assert!(
        served_at < held[0].0 + timeout,
        "opening {HELD} connections ({opened:?}) and the normal requests outlasted the timeout"
    );
    assert_eq!(still_open, HELD, "every half-sent request is still held while the others are served");

    // Then each is closed by the server, no earlier than the timeout and not much later.
    for (i, (opened_at, task)) in held.into_iter().enumerate() {
        let deadline = opened_at + timeout + Duration::from_secs(5);
        let (closed_at, received) = tokio::time::timeout_at(deadline.into(), task)
            .await
            .unwrap_or_else(|_| {
                panic!("connection {i} ({:?}) still open 5 s after the timeout", partial_request(i))
            })
            .expect("reader");
        assert!(
            closed_at + Duration::from_millis(100) >= opened_at + timeout,
            "connection {i} closed after {:?}, before the timeout",
            closed_at - opened_at
        );
        assert_closed_politely(&received);
    }
    // And the gateway still serves.
    let r = api.req(Method::GET, "/openapi.json").send().await.expect("GET after the slow clients");
    assert_eq!(r.status(), 200);
}

/// The gateway with this connection cap and a long header timeout (services unreachable:
/// `/openapi.json` is answered locally).
async fn gateway(max_connections: usize) -> (SocketAddr, ShutdownTrigger) {
    gateway_with(max_connections, Duration::from_secs(60)).await
}

async fn gateway_with(
    max_connections: usize,
    header_read_timeout: Duration,
) -> (SocketAddr, ShutdownTrigger) {
    let mut settings = settings_without_services().await;
    settings.max_connections = max_connections;
    settings.header_read_timeout = header_read_timeout;
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (trigger, shutdown) = Shutdown::new();
    tokio::spawn(operant_gateway::run(Arc::new(settings), listener, shutdown));
    (addr, trigger)
}

/// Sends a whole `GET /openapi.json` on a fresh connection; the task ends with the status line.
async fn full_request(addr: SocketAddr) -> tokio::task::JoinHandle<String> {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    tokio::spawn(async move {
        stream
            .write_all(b"GET /openapi.json HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            .await
            .expect("write request");
        let mut head = vec![0u8; 12];
        stream.read_exact(&mut head).await.expect("status line");
        String::from_utf8_lossy(&head).into_owned()
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_the_connection_cap_a_new_connection_waits_until_one_closes() {
    const CAP: usize = 50;
    let (addr, _trigger) = gateway(CAP).await;
    let mut held = Vec::with_capacity(CAP);
    for _ in 0..CAP {
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        stream.write_all(partial_request(2)).await.expect("write partial request");
        held.push(stream);
    }
    // The kernel completes the 51st handshake, but the gateway does not accept it (connections
    // are accepted in order, so the 50 held ones took every permit first).
    let mut waiting = full_request(addr).await;
    assert!(
        tokio::time::timeout(Duration::from_secs(1), &mut waiting).await.is_err(),
        "connection {} was served while {CAP} were held",
        CAP + 1
    );
    // One held connection closes: its permit goes to the waiting one, which is served.
    drop(held.pop());
    let status = tokio::time::timeout(Duration::from_secs(5), waiting)
        .await
        .expect("the waiting connection is served once one closes")
        .expect("request");
    assert_eq!(status, "HTTP/1.1 200");
    // All of them close: more requests at once than the cap are all served (the ones over it
    // wait their turn).
    drop(held);
    let mut requests = Vec::new();
    for _ in 0..CAP + 20 {
        requests.push(full_request(addr).await);
    }
    for request in requests {
        let status = tokio::time::timeout(Duration::from_secs(10), request)
            .await
            .expect("served after the held connections closed")
            .expect("request");
        assert_eq!(status, "HTTP/1.1 200");
    }
}

/// The deadlines are on the request head: an HTTP/2 connection (prior knowledge, as behind a
/// proxy speaking h2c) that sent its preface is served, and stays usable while idle for longer
/// than the header read timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http2_connections_are_served_and_outlive_the_header_timeout_when_idle() {
    let timeout = Duration::from_millis(500);
    let (addr, _trigger) = gateway_with(10, timeout).await;
    let tcp = TcpStream::connect(addr).await.expect("connect");
    let (mut client, connection) = h2::client::handshake(tcp).await.expect("HTTP/2 handshake");
    let connection = tokio::spawn(connection);
    for round in 0..2 {
        let request = http::Request::get(format!("http://{addr}/openapi.json")).body(()).expect("request");
        let (response, _) = client.send_request(request, true).expect("send over HTTP/2");
        let response = tokio::time::timeout(Duration::from_secs(5), response)
            .await
            .expect("answered in time")
            .expect("response");
        assert_eq!(response.status(), 200, "round {round}");
        tokio::time::sleep(timeout * 3).await;
    }
    assert!(!connection.is_finished(), "the idle HTTP/2 connection is still open");
}
