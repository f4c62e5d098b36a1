//! PostgreSQL stopped under write load.
//!
//! The test owns a private PostgreSQL (its own data directory, so it can stop it) and runs the
//! whole suite in-process against it. Workers create tasks over REST (through the gateway) and
//! over gRPC (straight to the work service) while PostgreSQL is stopped for about 3 seconds and
//! started again on the same port. It proves that:
//! - every request is answered within the database timeouts (no hang): 503
//!   `DATABASE_UNAVAILABLE` over REST, `UNAVAILABLE` with `DATABASE_UNAVAILABLE` over gRPC —
//!   never a 500, a timeout or another error;
//! - grpc.health.v1 of auth, tenancy and work turns NOT_SERVING while the database is down;
//! - once PostgreSQL is back, writes succeed again within 5 s and health is SERVING again,
//!   without restarting anything;
//! - every write acknowledged before, during or after the outage is in the database (by id).
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use operant_devdb::{PrivatePostgres, ensure_database};
use operant_platform::error::error_code_of;
use operant_proto::work::v1::CreateTaskRequest;
use operant_proto::work::v1::task_service_client::TaskServiceClient;
use operant_testkit::health::{NOT_SERVING, SERVING};
use operant_testkit::{TestApp, User};
use serde_json::{Value, json};
use tokio::sync::Mutex;
use tokio::time::Instant;
use tonic::transport::Endpoint;

/// Longest acceptable answer: the pool's acquire timeout (3 s) plus a margin.
const ANSWER_BOUND: Duration = Duration::from_secs(5);
const OUTAGE: Duration = Duration::from_secs(3);
const RECOVERY_BOUND: Duration = Duration::from_secs(5);
const REST_WORKERS: usize = 4;
const GRPC_WORKERS: usize = 2;

#[derive(Debug, Clone)]
enum Outcome {
    Ack(String),
    /// An answer of the expected kind while the database is down.
    Unavailable,
    /// Anything else: a wrong status, a transport error, a hang (printed through `Debug`).
    #[allow(dead_code)]
    Wrong(String),
}

#[derive(Debug, Clone)]
struct Sample {
    via: &'static str,
    started: Duration,
    took: Duration,
    outcome: Outcome,
}

/// Stops the private PostgreSQL and removes its directory, also when the test panics.
struct PgGuard {
    dir: std::path::PathBuf,
    pg: Option<PrivatePostgres>,
}

impl Drop for PgGuard {
    fn drop(&mut self) {
        drop(self.pg.take()); // stop_on_drop(true)
        let _ = std::fs::remove_dir_all(&self.dir);
        let _ = std::fs::remove_file(self.dir.with_extension("lock"));
    }
}

async fn rest_create(
    http: &reqwest::Client,
    base: &str,
    user: &User,
    org: &str,
    project: &str,
    n: usize,
) -> Outcome {
    let r = http
        .post(format!("{base}/api/v1/tasks"))
        .bearer_auth(&user.access)
        .header("x-organization-id", org)
        .json(&json!({"project_id": project, "title": format!("rest {n}")}))
        .send()
        .await;
    let r = match r {
        Ok(r) => r,
        Err(e) => return Outcome::Wrong(format!("transport: {e}")),
    };
    let status = r.status().as_u16();
    let body: Value = match r.json().await {
        Ok(v) => v,
        Err(e) => return Outcome::Wrong(format!("{status}: body is not JSON: {e}")),
    };
    match status {
        201 => match body["id"].as_str() {
            Some(id) => Outcome::Ack(id.to_owned()),
            None => Outcome::Wrong(format!("201 without id: {body}")),
        },
        503 if body["error_code"] == "DATABASE_UNAVAILABLE" && body["status_code"] == 503 => {
            Outcome::Unavailable
        }
        _ => Outcome::Wrong(format!("{status}: {body}")),
    }
}

async fn grpc_create(
    client: &mut TaskServiceClient<tonic::transport::Channel>,
    user: &User,
    org: &str,
    project: &str,
    n: usize,
) -> Outcome {
    let mut request = tonic::Request::new(CreateTaskRequest {
        project_id: project.to_owned(),
        title: format!("grpc {n}"),
        ..Default::default()
    });
    request.metadata_mut().insert("authorization", format!("Bearer {}", user.access).parse().unwrap());
    request.metadata_mut().insert("x-organization-id", org.parse().unwrap());
    match client.create_task(request).await {
        Ok(r) => match r.into_inner().task {
            Some(task) => Outcome::Ack(task.id),
            None => Outcome::Wrong("CreateTask answered without a task".into()),
        },
        Err(status)
            if status.code() == tonic::Code::Unavailable
                && error_code_of(&status).as_deref() == Some("DATABASE_UNAVAILABLE") =>
        {
            Outcome::Unavailable
        }
        Err(status) => {
            Outcome::Wrong(format!("{:?} {:?}: {}", status.code(), error_code_of(&status), status.message()))
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_postgres_stopped_under_load() {
    let dir = std::env::temp_dir().join(format!("operant-faults-{}", uuid::Uuid::new_v4().simple()));
    let mut pg = PrivatePostgres::start(&dir).await.expect("start a private PostgreSQL");
    pg.stop_on_drop(true);
    let port = pg.port();
    let mut guard = PgGuard { dir: dir.clone(), pg: Some(pg) };
    let server_url = guard.pg.as_ref().unwrap().url();
    ensure_database(&server_url, "operant").await.expect("create database");
    let url = guard.pg.as_ref().unwrap().url_for("operant");
    operant_testkit::migrate_all(&url).await.expect("migrations");

    let suite = TestApp::init().database(&url).spawn().await;
    let base = suite.gateway_url();
    let api = suite.api();
    let http = api.http.clone();
    let user = api.user("dbfault").await;
    let org = api.create_org(&user, "db-fault").await;
    let project = api.create_project(&user, &org, "outage").await;

    let t0 = Instant::now();
    let stop = Arc::new(AtomicBool::new(false));
    let samples = Arc::new(Mutex::new(Vec::<Sample>::new()));
    let mut workers = Vec::new();
    for w in 0..REST_WORKERS + GRPC_WORKERS {
        let (stop, samples, user, org, project, http, base) = (
            stop.clone(),
            samples.clone(),
            user.clone(),
            org.clone(),
            project.clone(),
            http.clone(),
            base.clone(),
        );
        let work_url = format!("http://{}", suite.work_addr);
        workers.push(tokio::spawn(async move {
            let channel = Endpoint::from_shared(work_url).unwrap().connect_lazy();
            let mut grpc = TaskServiceClient::new(channel);
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let started = t0.elapsed();
                let (via, fut): (&'static str, _) = if w < REST_WORKERS {
                    ("rest", futures_boxed(rest_create(&http, &base, &user, &org, &project, w * 100_000 + n)))
                } else {
                    ("grpc", futures_boxed(grpc_create(&mut grpc, &user, &org, &project, w * 100_000 + n)))
                };
                // A hang shows as a `Wrong` sample, not as a stuck test.
                let outcome = match tokio::time::timeout(Duration::from_secs(20), fut).await {
                    Ok(o) => o,
                    Err(_) => Outcome::Wrong("no answer within 20 s".into()),
                };
                let took = t0.elapsed() - started;
                let failed = !matches!(outcome, Outcome::Ack(_));
                samples.lock().await.push(Sample { via, started, took, outcome });
                if failed {
                    // Do not spin on fast failures.
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        }));
    }

    tokio::time::sleep(Duration::from_millis(1500)).await;

    // Health pollers: did each service report NOT_SERVING while the database was down?
    let pollers: Vec<_> =
        [("auth", suite.auth_addr), ("tenancy", suite.tenancy_addr), ("work", suite.work_addr)]
            .into_iter()
            .map(|(name, addr)| {
                let stop = stop.clone();
                tokio::spawn(async move {
                    let mut seen_not_serving = None;
                    while !stop.load(Ordering::Relaxed) && seen_not_serving.is_none() {
                        if operant_testkit::health::health(addr).await == Some(NOT_SERVING) {
                            seen_not_serving = Some(t0.elapsed());
                        }
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                    (name, addr, seen_not_serving)
                })
            })
            .collect();

    let stopping = t0.elapsed();
    guard.pg.take().unwrap().stop().await.expect("stop PostgreSQL");
    let down = t0.elapsed();
    println!("PostgreSQL stopped at {down:?} (stop began {stopping:?})");
    tokio::time::sleep(OUTAGE).await;
    let mut pg = PrivatePostgres::start(&dir).await.expect("restart PostgreSQL");
    pg.stop_on_drop(true);
    assert_eq!(pg.port(), port, "the restarted PostgreSQL must listen where the pools connect");
    guard.pg = Some(pg);
    let up = t0.elapsed();
    println!("PostgreSQL accepting connections again at {up:?}");

    let mut health_back = Vec::new();
    for (name, addr) in
        [("auth", suite.auth_addr), ("tenancy", suite.tenancy_addr), ("work", suite.work_addr)]
    {
        let took = operant_testkit::health::wait_health(addr, SERVING, RECOVERY_BOUND).await;
        health_back.push((name, t0.elapsed() - up, took));
    }
    // Keep the load on for a while after the recovery.
    tokio::time::sleep(Duration::from_secs(2)).await;
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        w.await.unwrap();
    }
    let mut not_serving = Vec::new();
    for p in pollers {
        not_serving.push(p.await.unwrap());
    }

    // ---- the verdict ----
    let samples = samples.lock().await.clone();
    let acked: Vec<String> = samples
        .iter()
        .filter_map(|s| if let Outcome::Ack(id) = &s.outcome { Some(id.clone()) } else { None })
        .collect();
    let count = |pred: &dyn Fn(&Sample) -> bool| samples.iter().filter(|s| pred(s)).count();
    let before = count(&|s| matches!(s.outcome, Outcome::Ack(_)) && s.started + s.took < stopping);
    let during =
        count(&|s| matches!(s.outcome, Outcome::Ack(_)) && s.started + s.took >= stopping && s.started < up);
    let after = count(&|s| matches!(s.outcome, Outcome::Ack(_)) && s.started >= up);
    let unavailable = count(&|s| matches!(s.outcome, Outcome::Unavailable));
    let slowest = samples.iter().map(|s| s.took).max().unwrap_or_default();
    let slowest_failure = samples
        .iter()
        .filter(|s| !matches!(s.outcome, Outcome::Ack(_)))
        .map(|s| s.took)
        .max()
        .unwrap_or_default();
    let first_ack_after_up = samples
        .iter()
        .filter(|s| matches!(s.outcome, Outcome::Ack(_)) && s.started >= up)
        .map(|s| s.started + s.took - up)
        .min();
    let last_failure_end =
        samples.iter().filter(|s| !matches!(s.outcome, Outcome::Ack(_))).map(|s| s.started + s.took).max();
    println!(
        "{} requests: {} acknowledged ({before} before the stop, {during} during, {after} after the restart), \
         {unavailable} answered DATABASE_UNAVAILABLE; slowest answer {slowest:?}, slowest failure \
         {slowest_failure:?}; first acknowledged write {first_ack_after_up:?} after the restart; last \
         failure ended at {last_failure_end:?}",
        samples.len(),
        acked.len()
    );
    for (via, n) in [("rest", count(&|s| s.via == "rest")), ("grpc", count(&|s| s.via == "grpc"))] {
        println!("  {via}: {n} requests");
    }
    println!("NOT_SERVING seen: {not_serving:?}; SERVING again after restart: {health_back:?}");

    let wrong: Vec<_> = samples.iter().filter(|s| matches!(s.outcome, Outcome::Wrong(_))).take(10).collect();
    assert!(wrong.is_empty(), "answers other than success or DATABASE_UNAVAILABLE: {wrong:#?}");
    let slow: Vec<_> = samples.iter().filter(|s| s.took > ANSWER_BOUND).take(10).collect();
    assert!(slow.is_empty(), "answers slower than {ANSWER_BOUND:?}: {slow:#?}");
    let early: Vec<_> = samples
        .iter()
        .filter(|s| !matches!(s.outcome, Outcome::Ack(_)) && s.started + s.took < stopping)
        .collect();
    assert!(early.is_empty(), "failures before PostgreSQL was stopped: {early:#?}");
    assert!(before > 0 && after > 0, "writes must succeed before the stop and after the restart");
    assert!(unavailable > 0, "no request saw the outage");
    for via in ["rest", "grpc"] {
        assert!(
            samples.iter().any(|s| s.via == via && matches!(s.outcome, Outcome::Unavailable)),
            "no {via} request answered DATABASE_UNAVAILABLE"
        );
    }
    for (name, addr, seen) in &not_serving {
        assert!(seen.is_some_and(|t| t >= stopping), "{name} ({addr}) never reported NOT_SERVING while down");
    }
    let first = first_ack_after_up.expect("no write succeeded after the restart");
    assert!(first <= RECOVERY_BOUND, "first write after the restart took {first:?}");
    if let Some(end) = last_failure_end {
        assert!(end <= up + RECOVERY_BOUND, "requests still failed {:?} after the restart", end - up);
    }

    // Every acknowledged write is in the database.
    let db = operant_testkit::sql::connect(&url).await;
    let ids: Vec<String> = acked.clone();
    let present: i64 =
        db.query_one("SELECT count(*) FROM tasks WHERE id::text = ANY($1)", &[&ids]).await.unwrap().get(0);
    let total: i64 = db.query_one("SELECT count(*) FROM tasks", &[]).await.unwrap().get(0);
    println!("{present} of {} acknowledged tasks present ({total} tasks in the table)", ids.len());
    assert_eq!(present as usize, ids.len(), "acknowledged writes are missing from the database");

    drop(db);
    suite.shutdown().await;
}

/// Boxes the two worker futures into one type.
fn futures_boxed<'a>(
    f: impl std::future::Future<Output = Outcome> + Send + 'a,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = Outcome> + Send + 'a>> {
    Box::pin(f)
}
