//! Shared by the fault tests (`faults_*.rs`): the suite started service by service against a
//! database the test chooses (so one service can be stopped, or PostgreSQL itself), a small REST
//! client, and database snapshots.
//!
//! Why not `operant_testkit::TestApp`: it starts every service under one shutdown trigger on its
//! own fresh database; the fault tests need to stop one service, run the work service as a
//! separate process they can kill, or use a PostgreSQL they own and can stop.
#![allow(dead_code, clippy::unwrap_used)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use operant_platform::config::Settings;
use operant_platform::shutdown::{Shutdown, ShutdownTrigger};
use reqwest::Method;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tonic::transport::Endpoint;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

pub const SERVING: i32 = 1;
pub const NOT_SERVING: i32 = 2;
pub const PASSWORD: &str = "correct horse battery";

/// Which services [`Suite::start`] runs in this process.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Svc {
    Auth,
    Tenancy,
    Work,
    Gateway,
}

struct Running {
    svc: Svc,
    trigger: ShutdownTrigger,
    task: JoinHandle<anyhow::Result<()>>,
}

/// The suite, each service under its own shutdown trigger.
pub struct Suite {
    pub settings: Arc<Settings>,
    pub auth_addr: SocketAddr,
    pub tenancy_addr: SocketAddr,
    pub work_addr: SocketAddr,
    pub gateway_addr: SocketAddr,
    running: Vec<Running>,
}

pub async fn bind() -> TcpListener {
    TcpListener::bind("127.0.0.1:0").await.expect("bind an ephemeral port")
}

pub async fn free_port() -> SocketAddr {
    bind().await.local_addr().expect("local addr")
}

impl Suite {
    /// Starts the services of `in_process` against `database_url` (addresses for the others are
    /// reserved and configured, so they can be started later, e.g. as a process) and waits until
    /// the in-process gRPC services are SERVING.
    pub async fn start(database_url: &str, in_process: &[Svc]) -> Suite {
        operant_testkit::init_test_tracing();
        let mut settings = Settings::for_tests(database_url);
        let listeners = [bind().await, bind().await, bind().await, bind().await];
        let addrs: Vec<SocketAddr> = listeners.iter().map(|l| l.local_addr().unwrap()).collect();
        let (auth_addr, tenancy_addr, work_addr, gateway_addr) = (addrs[0], addrs[1], addrs[2], addrs[3]);
        settings.listen.auth = auth_addr;
        settings.listen.tenancy = tenancy_addr;
        settings.listen.work = work_addr;
        settings.listen.gateway = gateway_addr;
        settings.listen.auth_admin = free_port().await;
        settings.listen.tenancy_admin = free_port().await;
        settings.listen.work_admin = free_port().await;
        settings.listen.gateway_admin = free_port().await;
        settings.endpoints.auth = vec![format!("http://{auth_addr}")];
        settings.endpoints.tenancy = vec![format!("http://{tenancy_addr}")];
        settings.endpoints.work = vec![format!("http://{work_addr}")];
        let settings = Arc::new(settings);
        let mut suite =
            Suite { settings, auth_addr, tenancy_addr, work_addr, gateway_addr, running: Vec::new() };
        let [auth, tenancy, work, gateway] = listeners;
        let mut to_start = Vec::new();
        for (svc, listener) in
            [(Svc::Auth, auth), (Svc::Tenancy, tenancy), (Svc::Work, work), (Svc::Gateway, gateway)]
        {
            if in_process.contains(&svc) {
                to_start.push((svc, listener));
            }
            // Listeners of services started elsewhere are dropped here: their port is free again.
        }
        for (svc, listener) in to_start {
            suite.spawn(svc, listener);
        }
        for (svc, addr) in [(Svc::Auth, auth_addr), (Svc::Tenancy, tenancy_addr), (Svc::Work, work_addr)] {
            if in_process.contains(&svc) {
                wait_health(addr, SERVING, Duration::from_secs(20)).await;
            }
        }
        suite
    }

    /// Runs `svc` on `listener` under a new shutdown trigger.
    pub fn spawn(&mut self, svc: Svc, listener: TcpListener) {
        let (trigger, shutdown) = Shutdown::new();
        let s = self.settings.clone();
        let task = match svc {
            Svc::Auth => tokio::spawn(operant_auth::run(s, listener, shutdown)),
            Svc::Tenancy => tokio::spawn(operant_tenancy::run(s, listener, shutdown)),
            Svc::Work => tokio::spawn(operant_work::run(s, listener, shutdown)),
            Svc::Gateway => tokio::spawn(operant_gateway::run(s, listener, shutdown)),
        };
        self.running.push(Running { svc, trigger, task });
    }

    pub fn gateway_url(&self) -> String {
        format!("http://{}", self.gateway_addr)
    }

    /// Stops every in-process service gracefully; panics if one failed or hangs.
    pub async fn shutdown(mut self) {
        for r in &self.running {
            r.trigger.trigger();
        }
        for r in std::mem::take(&mut self.running) {
            match tokio::time::timeout(Duration::from_secs(15), r.task).await {
                Ok(Ok(Ok(()))) => {}
                Ok(Ok(Err(e))) => panic!("{:?} failed: {e:#}", r.svc),
                Ok(Err(e)) => panic!("{:?} panicked: {e}", r.svc),
                Err(_) => panic!("{:?} did not stop within 15 s", r.svc),
            }
        }
    }
}

impl Drop for Suite {
    fn drop(&mut self) {
        for r in &self.running {
            r.trigger.trigger();
            r.task.abort();
        }
    }
}

/// grpc.health.v1 status of a server (overall), `None` when it cannot be asked.
pub async fn health(addr: SocketAddr) -> Option<i32> {
    let endpoint = Endpoint::from_shared(format!("http://{addr}"))
        .ok()?
        .connect_timeout(Duration::from_secs(1))
        .timeout(Duration::from_secs(2));
    let channel = endpoint.connect().await.ok()?;
    let r = HealthClient::new(channel).check(HealthCheckRequest { service: String::new() }).await.ok()?;
    Some(r.into_inner().status)
}

/// Waits until `addr`'s health is `want`; returns how long it took.
pub async fn wait_health(addr: SocketAddr, want: i32, within: Duration) -> Duration {
    let started = tokio::time::Instant::now();
    loop {
        if health(addr).await == Some(want) {
            return started.elapsed();
        }
        assert!(started.elapsed() < within, "{addr}: health did not become {want} within {within:?}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// An HTTP client that never waits forever.
pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .connect_timeout(Duration::from_secs(5))
        .build()
        .unwrap()
}

/// A registered, logged-in user.
#[derive(Clone, Debug)]
pub struct User {
    pub id: String,
    pub email: String,
    pub access: String,
    pub refresh: String,
}

async fn json_ok(r: reqwest::Response, want: u16) -> Value {
    let status = r.status().as_u16();
    let url = r.url().clone();
    let text = r.text().await.unwrap();
    assert_eq!(status, want, "{url}: {text}");
    serde_json::from_str(&text).unwrap()
}

/// Registers `tag-<uuid>@example.com` and logs in.
pub async fn signup(http: &reqwest::Client, base: &str, tag: &str) -> User {
    let email = format!("{tag}-{}@example.com", uuid::Uuid::new_v4().simple());
    let r = http
        .post(format!("{base}/api/v1/auth/register"))
        .json(&json!({"email": email, "password": PASSWORD, "full_name": tag}))
        .send()
        .await
        .unwrap();
    let user = json_ok(r, 201).await;
    let r = http
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"email": email, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    let tokens = json_ok(r, 200).await;
    User {
        id: user["id"].as_str().unwrap().to_owned(),
        email,
        access: tokens["access_token"].as_str().unwrap().to_owned(),
        refresh: tokens["refresh_token"].as_str().unwrap().to_owned(),
    }
}

/// A new session of `user` (new tokens).
pub async fn login(http: &reqwest::Client, base: &str, user: &User) -> User {
    let r = http
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"email": user.email, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    let tokens = json_ok(r, 200).await;
    User {
        access: tokens["access_token"].as_str().unwrap().to_owned(),
        refresh: tokens["refresh_token"].as_str().unwrap().to_owned(),
        ..user.clone()
    }
}

/// `method path` with the user's token (and organization), expecting `want`; returns the body.
#[allow(clippy::too_many_arguments)]
pub async fn call(
    http: &reqwest::Client,
    base: &str,
    method: Method,
    path: &str,
    user: &User,
    org: Option<&str>,
    body: Option<Value>,
    want: u16,
) -> Value {
    let mut rb = http.request(method, format!("{base}{path}")).bearer_auth(&user.access);
    if let Some(org) = org {
        rb = rb.header("x-organization-id", org);
    }
    if let Some(body) = body {
        rb = rb.json(&body);
    }
    let r = rb.send().await.unwrap();
    if want == 204 {
        assert_eq!(r.status().as_u16(), 204, "{path}");
        return Value::Null;
    }
    json_ok(r, want).await
}

/// Creates an organization; returns its id.
pub async fn create_org(http: &reqwest::Client, base: &str, user: &User, slug: &str) -> String {
    let body = json!({"name": slug, "slug": slug});
    let org = call(http, base, Method::POST, "/api/v1/organizations", user, None, Some(body), 201).await;
    org["id"].as_str().unwrap().to_owned()
}

/// Creates a project; returns its id.
pub async fn create_project(
    http: &reqwest::Client,
    base: &str,
    user: &User,
    org: &str,
    name: &str,
) -> String {
    let body = json!({"name": name, "description": "fault tests"});
    let p = call(http, base, Method::POST, "/api/v1/projects", user, Some(org), Some(body), 201).await;
    p["id"].as_str().unwrap().to_owned()
}

/// A connected tokio-postgres client.
pub async fn pg(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(connection);
    client
}

/// Every table of the public schema with its row count and a digest of its rows (so an UPDATE
/// shows as well as an INSERT or DELETE).
pub async fn snapshot(db: &tokio_postgres::Client) -> Vec<(String, i64, String)> {
    let tables = db
        .query(
            "SELECT tablename::text FROM pg_tables WHERE schemaname = 'public' \
             AND tablename NOT LIKE '\\_\\_%' ORDER BY 1",
            &[],
        )
        .await
        .unwrap();
    let mut out = Vec::new();
    for row in tables {
        let table: String = row.get(0);
        let sql = format!(
            "SELECT count(*), coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '') FROM \"{table}\" t"
        );
        let r = db.query_one(&sql, &[]).await.unwrap();
        out.push((table, r.get(0), r.get(1)));
    }
    out
}

/// Every row of a (small) table, as text.
pub async fn rows(db: &tokio_postgres::Client, table: &str) -> Vec<String> {
    let sql = format!("SELECT t::text FROM \"{table}\" t ORDER BY 1");
    db.query(&sql, &[]).await.unwrap().iter().map(|r| r.get(0)).collect()
}
