//! Scaling out, shown on one machine: two replicas of the work service behind two gateways.
//! Load runs through both gateways while one work replica is killed (its server task aborted,
//! connections dropped mid-flight) and later started again on the same address. The clients
//! eject the dead replica and retry idempotent calls on the live one, so fewer than 1% of the
//! requests fail; once the replica is back it serves again (shown by then stopping the other).
#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use operant_platform::config::Settings;
use operant_platform::shutdown::Shutdown;
use operant_testkit::{PASSWORD, TestDb};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

async fn bind() -> TcpListener {
    TcpListener::bind("127.0.0.1:0").await.unwrap()
}

fn any_port() -> SocketAddr {
    ([127, 0, 0, 1], 0).into()
}

/// One work replica on `addr`, with its own metrics port.
fn spawn_work(
    settings: &Settings,
    listener: TcpListener,
) -> (JoinHandle<anyhow::Result<()>>, operant_platform::shutdown::ShutdownTrigger) {
    let mut settings = settings.clone();
    settings.listen.work_admin = any_port();
    let (trigger, shutdown) = Shutdown::new();
    (tokio::spawn(operant_work::run(Arc::new(settings), listener, shutdown)), trigger)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_survives_a_killed_work_replica() {
    let db = TestDb::new().await;
    let (auth, tenancy, work_a, work_b, gw1, gw2) =
        (bind().await, bind().await, bind().await, bind().await, bind().await, bind().await);
    let addr = |l: &TcpListener| l.local_addr().unwrap();
    let (work_b_addr, gw_addrs) = (addr(&work_b), [addr(&gw1), addr(&gw2)]);
    let mut settings = Settings::for_tests(db.url.clone());
    settings.endpoints.auth = vec![format!("http://{}", addr(&auth))];
    settings.endpoints.tenancy = vec![format!("http://{}", addr(&tenancy))];
    settings.endpoints.work = vec![format!("http://{}", addr(&work_a)), format!("http://{work_b_addr}")];
    settings.listen.auth_admin = any_port();
    settings.listen.tenancy_admin = any_port();
    settings.listen.gateway_admin = any_port();

    let (_trigger, shutdown) = Shutdown::new();
    let shared = Arc::new(settings.clone());
    tokio::spawn(operant_auth::run(shared.clone(), auth, shutdown.clone()));
    tokio::spawn(operant_tenancy::run(shared.clone(), tenancy, shutdown.clone()));
    let (_work_a_task, work_a_trigger) = spawn_work(&settings, work_a);
    let (work_b_task, _work_b_trigger) = spawn_work(&settings, work_b);
    for gw in [gw1, gw2] {
        tokio::spawn(operant_gateway::run(shared.clone(), gw, shutdown.clone()));
    }

    // A user, an organization and a project, through the first gateway.
    let http = reqwest::Client::new();
    let api = |gw: usize| format!("http://{}/api/v1", gw_addrs[gw]);
    let mut ready = false;
    for _ in 0..100 {
        if http.get(format!("http://{}/health", gw_addrs[0])).send().await.is_ok_and(|r| r.status() == 200) {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ready, "the suite did not become healthy");
    let credentials = json!({"email": "scale@example.com", "password": PASSWORD});
    http.post(format!("{}/auth/register", api(0))).json(&credentials).send().await.unwrap();
    let login: Value = http
        .post(format!("{}/auth/login", api(0)))
        .json(&credentials)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = login["access_token"].as_str().unwrap().to_owned();
    let org: Value = http
        .post(format!("{}/organizations", api(0)))
        .bearer_auth(&token)
        .json(&json!({"name": "Scale", "slug": "scale"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let org = org["id"].as_str().unwrap().to_owned();
    let created = http
        .post(format!("{}/projects", api(0)))
        .bearer_auth(&token)
        .header("x-organization-id", &org)
        .json(&json!({"name": "replicated"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);

    // Load: workers alternate between the gateways until told to stop.
    let (ok, failed) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    // A watch, not a Notify: a worker that is between two requests when the stop comes still
    // sees it (`notify_waiters` only wakes tasks already waiting; a worker that missed it would
    // loop for ever, the likely cause of a CI run that timed out in this test).
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let mut workers = Vec::new();
    for w in 0..8 {
        let (http, token, org, ok, failed, mut stopped) =
            (http.clone(), token.clone(), org.clone(), ok.clone(), failed.clone(), stopped.clone());
        let urls = [api(0), api(1)];
        workers.push(tokio::spawn(async move {
            let mut i = w;
            while !*stopped.borrow_and_update() {
                let request = http
                    .get(format!("{}/projects", urls[i % 2]))
                    .bearer_auth(&token)
                    .header("x-organization-id", &org)
                    .send();
                tokio::select! {
                    answer = request => {
                        match answer {
                            Ok(r) if r.status() == 200 => ok.fetch_add(1, Ordering::Relaxed),
                            Ok(r) => {
                                let status = r.status();
                                eprintln!("failed: {status} {}", r.text().await.unwrap_or_default());
                                failed.fetch_add(1, Ordering::Relaxed)
                            }
                            Err(e) => {
                                eprintln!("failed: {e}");
                                failed.fetch_add(1, Ordering::Relaxed)
                            }
                        };
                    }
                    _ = stopped.changed() => return,
                }
                i += 1;
            }
        }));
    }

    tokio::time::sleep(Duration::from_millis(1500)).await;
    work_b_task.abort(); // kill: no graceful shutdown, connections dropped
    let before_kill = ok.load(Ordering::Relaxed);
    tokio::time::sleep(Duration::from_millis(2000)).await;
    let during_kill = ok.load(Ordering::Relaxed) - before_kill;
    let (_work_b_task, _work_b_trigger) =
        spawn_work(&settings, TcpListener::bind(work_b_addr).await.unwrap());
    tokio::time::sleep(Duration::from_millis(2000)).await;
    // Replica B is back: stop A gracefully; B alone must carry the load.
    work_a_trigger.trigger();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let after_switch = ok.load(Ordering::Relaxed);
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let served_by_b_alone = ok.load(Ordering::Relaxed) - after_switch;
    let _ = stop.send(true);
    for worker in workers {
        let _ = worker.await;
    }

    let (ok, failed) = (ok.load(Ordering::Relaxed), failed.load(Ordering::Relaxed));
    let rate = failed as f64 / (ok + failed) as f64;
    println!(
        "{ok} ok, {failed} failed ({:.3}%); {during_kill} ok while B was dead; {served_by_b_alone} ok in 1 s on B alone",
        rate * 100.0
    );
    assert!(ok > 100, "too little load to judge: {ok}");
    assert!(during_kill > 0, "nothing succeeded while one replica was dead");
    assert!(served_by_b_alone > 0, "the restarted replica did not take the load");
    assert!(rate < 0.01, "{failed} of {} requests failed", ok + failed);
}
