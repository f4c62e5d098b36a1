//! grpc.health.v1 follows the database: SERVING while `SELECT 1` works, NOT_SERVING while
//! PostgreSQL is down, SERVING again once it is back, without restarting the server.
//!
//! The test owns a private PostgreSQL (its own data directory) so it can stop it.

use std::sync::Arc;
use std::time::Duration;

use operant_devdb::{PrivatePostgres, ensure_database};
use operant_platform::config::Settings;
use operant_platform::db;
use operant_platform::grpc::{LIVENESS_SERVICE, ServerSpec, serve};
use operant_platform::principal::{Authenticator, default_access};
use operant_platform::shutdown::Shutdown;
use operant_platform::tokens::TokenVerifier;
use tonic::transport::Endpoint;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

async fn status(url: &str) -> Option<i32> {
    status_of(url, "").await
}

async fn status_of(url: &str, service: &str) -> Option<i32> {
    let channel = Endpoint::from_shared(url.to_owned()).ok()?.connect().await.ok()?;
    let response =
        HealthClient::new(channel).check(HealthCheckRequest { service: service.to_owned() }).await.ok()?;
    Some(response.into_inner().status)
}

async fn wait_for(url: &str, want: i32, within: Duration) -> Duration {
    let started = tokio::time::Instant::now();
    loop {
        if status(url).await == Some(want) {
            return started.elapsed();
        }
        assert!(started.elapsed() < within, "health did not become {want} within {within:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

const SERVING: i32 = 1;
const NOT_SERVING: i32 = 2;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_follows_the_database() {
    let dir = std::env::temp_dir().join(format!("operant-health-{}", uuid::Uuid::new_v4().simple()));
    let pg = PrivatePostgres::start(&dir).await.expect("start a private PostgreSQL");
    let port = pg.port();
    ensure_database(&pg.url(), "operant").await.expect("create database");
    let url = pg.url_for("operant");

    let settings = Arc::new(Settings::for_tests(url.clone()));
    let pool = db::pool(&url, &settings.database).expect("pool");
    let verifier = Arc::new(TokenVerifier::new("operant", "operant-api"));
    let spec = ServerSpec {
        name: "probe",
        routes: tonic::service::Routes::builder().routes(),
        service_names: vec![],
        authenticator: Arc::new(Authenticator::new(verifier, "token", default_access)),
        pool,
        metrics: operant_platform::metrics::Metrics::new("probe"),
        admin: settings.listen.auth_admin,
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let server_url = format!("http://{}", listener.local_addr().expect("addr"));
    let (trigger, shutdown) = Shutdown::new();
    let server = tokio::spawn(async move { serve(&settings, listener, spec, shutdown).await });

    wait_for(&server_url, SERVING, Duration::from_secs(10)).await;

    pg.stop().await.expect("stop PostgreSQL");
    let took = wait_for(&server_url, NOT_SERVING, Duration::from_secs(5)).await;
    println!("NOT_SERVING {took:?} after PostgreSQL stopped");
    // Liveness does not follow the database: an outage makes pods unready, it does not get
    // them all restarted.
    assert_eq!(status_of(&server_url, LIVENESS_SERVICE).await, Some(SERVING));

    let mut pg = PrivatePostgres::start(&dir).await.expect("restart PostgreSQL");
    pg.stop_on_drop(true);
    assert_eq!(pg.port(), port, "the restarted server must listen where the pool connects");
    let took = wait_for(&server_url, SERVING, Duration::from_secs(5)).await;
    println!("SERVING again {took:?} after PostgreSQL restarted");

    trigger.trigger();
    server.await.expect("server task").expect("server stops cleanly");
    pg.stop().await.expect("stop PostgreSQL");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A stream that never ends (grpc.health.v1 `Watch`) cannot hold the server past the shutdown
/// grace period: graceful shutdown waits for it, then cuts it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_is_bounded_by_the_grace_period() {
    let db = unreachable_pool();
    let mut settings = Settings::for_tests("postgres://nobody@127.0.0.1:1/none");
    settings.shutdown_grace = Duration::from_secs(1);
    let settings = Arc::new(settings);
    let verifier = Arc::new(TokenVerifier::new("operant", "operant-api"));
    let spec = ServerSpec {
        name: "drain",
        routes: tonic::service::Routes::builder().routes(),
        service_names: vec![],
        authenticator: Arc::new(Authenticator::new(verifier, "token", default_access)),
        pool: db,
        metrics: operant_platform::metrics::Metrics::new("drain"),
        admin: settings.listen.auth_admin,
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let (trigger, shutdown) = Shutdown::new();
    let server = tokio::spawn(async move { serve(&settings, listener, spec, shutdown).await });

    let channel = loop {
        if let Ok(channel) = Endpoint::from_shared(url.clone()).expect("url").connect().await {
            break channel;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let mut watch = HealthClient::new(channel)
        .watch(HealthCheckRequest { service: LIVENESS_SERVICE.to_owned() })
        .await
        .expect("watch")
        .into_inner();
    assert!(watch.message().await.expect("first status").is_some());

    let started = tokio::time::Instant::now();
    trigger.trigger();
    let stopped = tokio::time::timeout(Duration::from_secs(10), server).await;
    let took = started.elapsed();
    stopped.expect("the server stopped within 10 s").expect("task").expect("clean stop");
    assert!(took >= Duration::from_millis(900), "the open stream was given its grace ({took:?})");
    assert!(took < Duration::from_secs(4), "stopped {took:?} after shutdown began (grace 1 s)");
}

/// A pool that never connects (the drain test needs no database; health just reports
/// NOT_SERVING).
fn unreachable_pool() -> db::PgPool {
    let settings = Settings::for_tests("postgres://nobody@127.0.0.1:1/none");
    db::pool("postgres://nobody@127.0.0.1:1/none", &settings.database).expect("pool")
}
