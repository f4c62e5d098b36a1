//! A service killed and restarted under load.
//!
//! Auth, tenancy and the gateway run in-process; the work service runs as its own process
//! (`operant serve work`, the binary of this crate), so it can be killed for real (SIGKILL: its
//! connections are reset, nothing is shut down gracefully). Workers list projects through the
//! gateway all along. It proves that:
//! - while the work service is gone the gateway answers 503 `SERVICE_UNAVAILABLE` in the error
//!   body, quickly — never a 500, a 504 or a hang;
//! - once a new work process listens on the same address, the gateway serves again by itself
//!   (no gateway restart) within a few seconds.
#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use operant_testkit::health::SERVING;
use operant_testkit::{Svc, TestApp, User};
use reqwest::Method;
use serde_json::Value;
use tokio::process::{Child, Command};
use tokio::sync::Mutex;
use tokio::time::Instant;

/// Longest acceptable answer while the service is down (a refused connection is immediate).
const ANSWER_BOUND: Duration = Duration::from_secs(3);
const DOWN_FOR: Duration = Duration::from_secs(2);
const RECOVERY_BOUND: Duration = Duration::from_secs(5);
const WORKERS: usize = 4;

/// `operant serve work` on `suite.work_addr`, against the suite's database, logging to `log`.
fn spawn_work(suite: &TestApp, log: &std::path::Path) -> Child {
    let s = &suite.settings;
    let out = std::fs::OpenOptions::new().create(true).append(true).open(log).unwrap();
    let err = out.try_clone().unwrap();
    Command::new(env!("CARGO_BIN_EXE_operant"))
        .args(["serve", "work"])
        .env("OPERANT_ENV", "test")
        .env("OPERANT_DATABASE_URL", &suite.database_url)
        .env("OPERANT_RUN_MIGRATIONS", "false")
        .env("OPERANT_DB_POOL_SIZE", "4")
        .env("OPERANT_WORK_LISTEN", suite.work_addr.to_string())
        .env("OPERANT_WORK_ADMIN_LISTEN", s.listen.work_admin.to_string())
        .env("OPERANT_AUTH_URL", &s.endpoints.auth[0])
        .env("OPERANT_TENANCY_URL", &s.endpoints.tenancy[0])
        .env("OPERANT_WORK_URL", &s.endpoints.work[0])
        .env("OPERANT_EVENTS_URL", &s.endpoints.events[0])
        .env("OPERANT_SERVICE_TOKEN", &s.service_token)
        .env("OPERANT_JWT_ISSUER", &s.tokens.issuer)
        .env("OPERANT_JWT_AUDIENCE", &s.tokens.audience)
        .env("RUST_LOG", "info")
        .stdin(std::process::Stdio::null())
        .stdout(out)
        .stderr(err)
        .kill_on_drop(true)
        .spawn()
        .expect("spawn `operant serve work`")
}

#[derive(Debug, Clone)]
struct Sample {
    started: Duration,
    took: Duration,
    /// HTTP status, or 0 for a transport failure / no answer.
    status: u16,
    /// `error_code` of an error body that has the standard shape.
    error_code: Option<String>,
    /// The start of the body (printed through `Debug` when the test fails).
    #[allow(dead_code)]
    text: String,
}

async fn list_projects(
    http: &reqwest::Client,
    base: &str,
    user: &User,
    org: &str,
) -> (u16, Option<String>, String) {
    let r = http
        .get(format!("{base}/api/v1/projects"))
        .bearer_auth(&user.access)
        .header("x-organization-id", org)
        .send();
    let r = match tokio::time::timeout(Duration::from_secs(20), r).await {
        Err(_) => return (0, None, "no answer within 20 s".into()),
        Ok(Err(e)) => return (0, None, format!("transport: {e}")),
        Ok(Ok(r)) => r,
    };
    let status = r.status().as_u16();
    let text = r.text().await.unwrap_or_default();
    let code = serde_json::from_str::<Value>(&text).ok().and_then(|b| {
        let standard = b["detail"].is_string() && b["status_code"] == status && b["error_code"].is_string();
        standard.then(|| b["error_code"].as_str().unwrap().to_owned())
    });
    (status, code, text.chars().take(300).collect())
}

async fn wait_serving(addr: SocketAddr) -> Duration {
    operant_testkit::health::wait_health(addr, SERVING, Duration::from_secs(30)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_work_service_killed_and_restarted_under_load() {
    let suite = TestApp::init().without(Svc::Work).spawn().await;
    let log = std::env::temp_dir().join(format!("operant-faults-work-{}.log", uuid::Uuid::new_v4().simple()));
    let mut work = spawn_work(&suite, &log);
    wait_serving(suite.work_addr).await;
    println!("work process log: {}", log.display());

    let base = suite.gateway_url();
    let api = suite.api();
    let http = api.http.clone();
    let user = api.user("svcfault").await;
    let org = api.create_org(&user, "svc-fault").await;
    api.create_project(&user, &org, "alive").await;
    api.call(Method::GET, "/api/v1/projects", &user, Some(&org), None, 200).await;

    let t0 = Instant::now();
    let stop = Arc::new(AtomicBool::new(false));
    let samples = Arc::new(Mutex::new(Vec::<Sample>::new()));
    let workers: Vec<_> = (0..WORKERS)
        .map(|_| {
            let (stop, samples, user, org, http, base) =
                (stop.clone(), samples.clone(), user.clone(), org.clone(), http.clone(), base.clone());
            tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    let started = t0.elapsed();
                    let (status, error_code, text) = list_projects(&http, &base, &user, &org).await;
                    let took = t0.elapsed() - started;
                    samples.lock().await.push(Sample { started, took, status, error_code, text });
                    if status != 200 {
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                }
            })
        })
        .collect();

    tokio::time::sleep(Duration::from_secs(1)).await;
    let killed = t0.elapsed();
    work.start_kill().expect("SIGKILL the work process");
    let exit = work.wait().await.expect("wait for the work process");
    println!("work process killed at {killed:?} ({exit})");
    tokio::time::sleep(DOWN_FOR).await;

    let restarted = t0.elapsed();
    let mut work = spawn_work(&suite, &log);
    let took = wait_serving(suite.work_addr).await;
    let up = t0.elapsed();
    println!("new work process started at {restarted:?}, SERVING after {took:?}");
    tokio::time::sleep(Duration::from_secs(3)).await;
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        w.await.unwrap();
    }

    let samples = samples.lock().await.clone();
    let ok = |s: &Sample| s.status == 200;
    let unavailable = samples
        .iter()
        .filter(|s| s.status == 503 && s.error_code.as_deref() == Some("SERVICE_UNAVAILABLE"))
        .count();
    let first_ok_after_up =
        samples.iter().filter(|s| ok(s) && s.started >= up).map(|s| s.started + s.took - up).min();
    let last_failure_end = samples.iter().filter(|s| !ok(s)).map(|s| s.started + s.took).max();
    let slowest_failure = samples.iter().filter(|s| !ok(s)).map(|s| s.took).max().unwrap_or_default();
    println!(
        "{} requests: {} OK, {unavailable} answered 503 SERVICE_UNAVAILABLE (slowest failure {slowest_failure:?}); \
         first OK {first_ok_after_up:?} after the new process was SERVING; last failure ended at \
         {last_failure_end:?}",
        samples.len(),
        samples.iter().filter(|s| ok(s)).count()
    );

    let wrong: Vec<_> = samples
        .iter()
        .filter(|s| !ok(s) && (s.status != 503 || s.error_code.as_deref() != Some("SERVICE_UNAVAILABLE")))
        .take(10)
        .collect();
    assert!(wrong.is_empty(), "answers other than 200 or 503 SERVICE_UNAVAILABLE: {wrong:#?}");
    let slow: Vec<_> = samples.iter().filter(|s| !ok(s) && s.took > ANSWER_BOUND).take(10).collect();
    assert!(slow.is_empty(), "failures slower than {ANSWER_BOUND:?}: {slow:#?}");
    let early: Vec<_> = samples.iter().filter(|s| !ok(s) && s.started + s.took < killed).collect();
    assert!(early.is_empty(), "failures before the kill: {early:#?}");
    assert!(unavailable > 0, "no request saw the work service down");
    let first = first_ok_after_up.expect("the gateway never served again after the restart");
    assert!(first <= RECOVERY_BOUND, "the gateway needed {first:?} to recover");
    if let Some(end) = last_failure_end {
        assert!(end <= up + RECOVERY_BOUND, "requests still failed {:?} after the restart", end - up);
    }

    work.start_kill().unwrap();
    let _ = work.wait().await;
    let _ = std::fs::remove_file(&log);
    suite.shutdown().await;
}
