//! The standing cache (`operant_work::standings`): work answers from cached `Authorize` answers,
//! and nothing is bought with correctness — a removed member, a downgraded role and a downgraded
//! plan are enforced by work within 1 s of the change's answer, while the caller keeps up a
//! concurrent load, when the change is made through another tenancy replica, and when the
//! stream from tenancy is cut (tenancy stopped, then started again).

#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use operant_platform::error::error_code_of;
use operant_proto::tenancy::v1::member_service_client::MemberServiceClient;
use operant_proto::tenancy::v1::{
    Plan, RemoveMemberRequest, Role, UpdateMemberRequest, UpdateSubscriptionRequest,
};
use operant_proto::work::v1::project_service_client::ProjectServiceClient;
use operant_proto::work::v1::*;
use operant_testkit::*;
use tokio::task::JoinHandle;

/// The bound the issue asks for.
const BOUND: Duration = Duration::from_secs(1);
/// Concurrent callers of each load.
const WORKERS: usize = 6;

type Outcome = Result<(), String>;

fn outcome<T>(result: Result<T, tonic::Status>) -> Outcome {
    result
        .map(|_| ())
        .map_err(|status| error_code_of(&status).unwrap_or_else(|| format!("{:?}", status.code())))
}

/// `WORKERS` loops of `call`, each call recorded with when it started, until [`Load::finish`].
struct Load {
    stop: Arc<AtomicBool>,
    workers: Vec<JoinHandle<Vec<(Instant, Outcome)>>>,
}

fn load<F, Fut>(call: F) -> Load
where
    F: Fn(u64) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = Outcome> + Send,
{
    let stop = Arc::new(AtomicBool::new(false));
    let counter = Arc::new(AtomicU64::new(0));
    let workers = (0..WORKERS)
        .map(|_| {
            let (stop, counter, call) = (stop.clone(), counter.clone(), call.clone());
            tokio::spawn(async move {
                let mut seen = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    let started = Instant::now();
                    let n = counter.fetch_add(1, Ordering::Relaxed);
                    seen.push((started, call(n).await));
                }
                seen
            })
        })
        .collect();
    Load { stop, workers }
}

impl Load {
    async fn finish(self) -> Vec<(Instant, Outcome)> {
        self.stop.store(true, Ordering::Relaxed);
        let mut all = Vec::new();
        for worker in self.workers {
            all.extend(worker.await.unwrap());
        }
        all.sort_by_key(|(at, _)| *at);
        all
    }
}

/// Every call started `BOUND` after `changed_at` was refused with one of `codes`; calls before
/// `warm_until` succeeded (the load was real and warm). Returns how long after the change the
/// last success started (how fast the change was enforced).
fn assert_enforced(
    seen: &[(Instant, Outcome)],
    warm_until: Instant,
    changed_at: Instant,
    codes: &[&str],
) -> Duration {
    let warm = seen.iter().filter(|(at, _)| *at < warm_until).collect::<Vec<_>>();
    assert!(warm.len() >= 20, "too little load before the change: {}", warm.len());
    assert!(warm.iter().all(|(_, o)| o.is_ok()), "calls before the change failed: {warm:?}");
    let before = seen.iter().filter(|(at, _)| *at < changed_at).count();
    let after = seen.iter().filter(|(at, _)| *at >= changed_at + BOUND).collect::<Vec<_>>();
    assert!(after.len() >= 20, "too little load after the bound: {}", after.len());
    for (at, o) in &after {
        match o {
            Err(code) if codes.contains(&code.as_str()) => {}
            other => panic!(
                "a call {:?} after the change answered {other:?}, not one of {codes:?}",
                *at - changed_at
            ),
        }
    }
    let last_success =
        seen.iter().filter(|(_, o)| o.is_ok()).map(|(at, _)| at.saturating_duration_since(changed_at)).max();
    let enforced_after = last_success.unwrap_or_default();
    eprintln!("enforced {enforced_after:?} after the change ({} calls after it)", seen.len() - before);
    enforced_after
}

fn list_projects() -> ListProjectsRequest {
    ListProjectsRequest { page: page(0, 20, "-created_at"), ..Default::default() }
}

/// The number of `Authorize` calls tenancy answered OK, from its `/metrics`.
async fn authorize_calls(admin: SocketAddr) -> u64 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(admin).await.unwrap();
    stream.write_all(b"GET /metrics HTTP/1.0\r\nHost: x\r\n\r\n").await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    let series = r#"method="/operant.tenancy.v1.TenancyInternalService/Authorize",code="OK"} "#;
    response
        .lines()
        .find_map(|line| line.split_once(series).map(|(_, n)| n.trim().parse::<u64>().unwrap()))
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_calls_are_answered_without_asking_tenancy() {
    let app = TestApp::spawn().await;
    let c = app.clients();
    let owner = c.owner("alice").await;
    c.list_projects(&owner, list_projects()).await.unwrap();
    // The watcher's first pong makes the cache trusted (pings every 100 ms).
    tokio::time::sleep(Duration::from_millis(400)).await;
    c.list_projects(&owner, list_projects()).await.unwrap();
    let project = c.project(&owner, "cached").await;
    let before = authorize_calls(app.admin_addrs[1]).await;
    for _ in 0..50 {
        c.list_projects(&owner, list_projects()).await.unwrap();
        let get = GetProjectRequest { project_id: project.id.clone() };
        c.projects.clone().get_project(owner.req(get)).await.unwrap();
    }
    let asked = authorize_calls(app.admin_addrs[1]).await - before;
    assert!(asked <= 5, "100 calls asked tenancy {asked} times");
}

fn rename(project: &Project, n: usize) -> UpdateProjectRequest {
    UpdateProjectRequest {
        project_id: project.id.clone(),
        project: Some(Project { name: format!("Apollo {n}"), ..Default::default() }),
        update_mask: field_mask(&["name"]),
        expected_version: None,
    }
}

/// A refusal is never decided on a cached standing: a member promoted a moment ago may act as
/// an admin at once, and an upgraded plan allows its projects at once — even while the change
/// has not reached work's cache. A work server is started whose connection to tenancy goes
/// through a proxy that holds back tenancy's side while the change is made and the call sent:
/// the cache is still fresh and still holds the old standing, so only asking tenancy again (once
/// the proxy lets go) can answer the call right.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_promotion_and_an_upgrade_take_effect_at_once_though_the_cache_has_not_heard() {
    let app = TestApp::spawn().await;
    let c = app.clients();
    let owner = c.owner("alice").await;
    let member = c.member(&owner, "bob", Role::Member).await;
    let project = c.project(&owner, "Apollo").await;
    let stall = proxy::HoldingProxy::start(app.tenancy_addr).await;
    let replica = app.spawn_work_replica(stall.url()).await;
    let projects = ProjectServiceClient::new(lazy_channel(replica.addr));
    let role = |role: Role| UpdateMemberRequest {
        organization_id: owner.org.to_string(),
        user_id: member.id(),
        role: role.into(),
    };
    let list = |who: &Actor| {
        let (mut projects, request) = (projects.clone(), who.req(list_projects()));
        async move { projects.list_projects(request).await.unwrap() }
    };
    list(&member).await;
    list(&owner).await;
    // The watcher's first pong makes the cache trusted (pings every 100 ms).
    tokio::time::sleep(Duration::from_millis(400)).await;

    for round in 0..3 {
        // The member's standing (MEMBER) is cached; tenancy stalls; the member is promoted.
        list(&member).await;
        stall.hold();
        c.members.clone().update_member(owner.req(role(Role::Admin))).await.unwrap();
        let mut client = projects.clone();
        let request = member.req(rename(&project, round));
        let renamed = tokio::spawn(async move { client.update_project(request).await });
        tokio::time::sleep(Duration::from_millis(150)).await;
        stall.release();
        let renamed = renamed.await.unwrap();
        assert!(renamed.is_ok(), "round {round}: the promoted member was refused: {renamed:?}");
        // Demoted again: refused within the bound (see the tests below).
        c.members.clone().update_member(owner.req(role(Role::Member))).await.unwrap();
        let demoted_at = Instant::now();
        loop {
            let renamed = projects.clone().update_project(member.req(rename(&project, 100 + round))).await;
            if renamed.is_err() {
                assert_eq!(outcome(renamed), Err("INSUFFICIENT_ROLE".into()));
                break;
            }
            assert!(demoted_at.elapsed() < BOUND, "round {round}: the demoted member kept admin rights");
        }
    }

    // At the FREE plan's limit, with the owner's standing (FREE) cached, the plan is upgraded.
    for n in 1..5 {
        c.project(&owner, &format!("p{n}")).await;
    }
    list(&owner).await;
    stall.hold();
    let upgrade = UpdateSubscriptionRequest {
        request_id: String::new(),
        organization_id: owner.org.to_string(),
        plan: Plan::Pro.into(),
    };
    c.subs.clone().update_subscription(owner.req(upgrade)).await.unwrap();
    let request =
        CreateProjectRequest { request_id: "after-upgrade".into(), name: "pro".into(), description: None };
    let mut client = projects.clone();
    let first = owner.req(request.clone());
    let created = tokio::spawn(async move { client.create_project(first).await });
    tokio::time::sleep(Duration::from_millis(150)).await;
    stall.release();
    let created = created.await.unwrap().expect("the upgraded plan allows a 6th project");
    // Its idempotent retry is the same project: no refusal was kept for the key.
    let again = projects.clone().create_project(owner.req(request)).await.expect("the retry");
    assert_eq!(again.into_inner().project.unwrap().id, created.into_inner().project.unwrap().id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_removed_through_another_tenancy_replica_is_refused_within_a_second_under_load() {
    let app = TestApp::spawn().await;
    let c = app.clients();
    let owner = c.owner("alice").await;
    let member = c.member(&owner, "bob", Role::Member).await;
    // Not an endpoint of work: the removal reaches work's stream only through PostgreSQL.
    let replica = app.spawn_tenancy_replica().await;
    let mut members = MemberServiceClient::new(lazy_channel(replica.addr));

    let projects = c.projects.clone();
    let caller = member.clone();
    let running = load(move |_| {
        let (mut projects, caller) = (projects.clone(), caller.clone());
        async move { outcome(projects.list_projects(caller.req(list_projects())).await) }
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    // Calls started until here all succeed (later ones may meet the change while in flight).
    let warm_until = Instant::now();
    tokio::time::sleep(Duration::from_millis(150)).await;
    let removal = RemoveMemberRequest { organization_id: owner.org.to_string(), user_id: member.id() };
    members.remove_member(owner.req(removal)).await.unwrap();
    let changed_at = Instant::now();
    tokio::time::sleep(BOUND + Duration::from_millis(500)).await;
    let seen = running.finish().await;
    assert_enforced(&seen, warm_until, changed_at, &["NOT_A_MEMBER"]);

    // Through the gateway: 403.
    let response = app
        .api()
        .in_org(reqwest::Method::GET, "/api/v1/projects", &member.user.access, &owner.org.to_string())
        .send()
        .await
        .unwrap();
    rest::expect_error(response, 403, "NOT_A_MEMBER").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_downgraded_to_member_loses_admin_rights_within_a_second_under_load() {
    let app = TestApp::spawn().await;
    let c = app.clients();
    let owner = c.owner("alice").await;
    let admin = c.member(&owner, "carol", Role::Admin).await;
    // The owner's project: only an admin (or its creator) may rename it.
    let project = c.project(&owner, "Apollo").await;

    let projects = c.projects.clone();
    let caller = admin.clone();
    let id = project.id.clone();
    let running = load(move |n| {
        let (mut projects, caller, id) = (projects.clone(), caller.clone(), id.clone());
        async move {
            let rename = UpdateProjectRequest {
                project_id: id,
                project: Some(Project { name: format!("Apollo {n}"), ..Default::default() }),
                update_mask: field_mask(&["name"]),
                expected_version: None,
            };
            outcome(projects.update_project(caller.req(rename)).await)
        }
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    // Calls started until here all succeed (later ones may meet the change while in flight).
    let warm_until = Instant::now();
    tokio::time::sleep(Duration::from_millis(150)).await;
    let downgrade = UpdateMemberRequest {
        organization_id: owner.org.to_string(),
        user_id: admin.id(),
        role: Role::Member.into(),
    };
    c.members.clone().update_member(owner.req(downgrade)).await.unwrap();
    let changed_at = Instant::now();
    tokio::time::sleep(BOUND + Duration::from_millis(500)).await;
    let seen = running.finish().await;
    assert_enforced(&seen, warm_until, changed_at, &["INSUFFICIENT_ROLE"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_downgraded_plan_limits_projects_within_a_second_under_load() {
    let app = TestApp::spawn().await;
    let c = app.clients();
    let owner = c.owner("alice").await;
    c.upgrade(&owner).await;
    let free_limit = 5;
    for n in 0..free_limit {
        c.project(&owner, &format!("p{n}")).await;
    }
    // The owner's own load keeps its cached standing (PRO: 100 projects) hot.
    let projects = c.projects.clone();
    let caller = owner.clone();
    let running = load(move |_| {
        let (mut projects, caller) = (projects.clone(), caller.clone());
        async move { outcome(projects.list_projects(caller.req(list_projects())).await) }
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    let downgrade = UpdateSubscriptionRequest {
        request_id: String::new(),
        organization_id: owner.org.to_string(),
        plan: Plan::Free.into(),
    };
    c.subs.clone().update_subscription(owner.req(downgrade)).await.unwrap();
    let changed_at = Instant::now();
    // Creations from the moment of the change: a stale standing would allow up to 100.
    let mut created = Vec::new();
    while changed_at.elapsed() < BOUND + Duration::from_secs(1) {
        let started = Instant::now();
        let request =
            CreateProjectRequest { request_id: String::new(), name: "late".into(), description: None };
        created.push((started, outcome(c.projects.clone().create_project(owner.req(request)).await)));
    }
    let seen = running.finish().await;
    assert!(seen.iter().all(|(_, o)| o.is_ok()), "the owner's reads keep working");
    let after: Vec<_> = created.iter().filter(|(at, _)| *at >= changed_at + BOUND).collect();
    assert!(after.len() >= 3, "too few creations after the bound: {}", after.len());
    assert!(
        after.iter().all(|(_, o)| o.as_ref().err().map(String::as_str) == Some("PLAN_LIMIT_REACHED")),
        "creations after the bound: {after:?}"
    );
    let total = c.list_projects(&owner, list_projects()).await.unwrap().page.unwrap().total;
    assert!(total <= free_limit + 1, "the stale PRO limit let {total} projects in");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_tenancy_stopped_and_restarted_a_removed_member_is_never_served() {
    let mut app = TestApp::spawn().await;
    let c = app.clients();
    let owner = c.owner("alice").await;
    let member = c.member(&owner, "bob", Role::Member).await;
    let replica = app.spawn_tenancy_replica().await;
    let mut members = MemberServiceClient::new(lazy_channel(replica.addr));

    let projects = c.projects.clone();
    let caller = member.clone();
    let running = load(move |_| {
        let (mut projects, caller) = (projects.clone(), caller.clone());
        async move { outcome(projects.list_projects(caller.req(list_projects())).await) }
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    // Calls started until here all succeed; one in flight when tenancy stops may get a 503.
    let warm_until = Instant::now();
    tokio::time::sleep(Duration::from_millis(300)).await;
    // Work's only tenancy goes away: its stream is cut, so its cache may not be trusted.
    app.stop(Svc::Tenancy).await;
    let removal = RemoveMemberRequest { organization_id: owner.org.to_string(), user_id: member.id() };
    members.remove_member(owner.req(removal)).await.unwrap();
    let changed_at = Instant::now();
    tokio::time::sleep(BOUND + Duration::from_millis(300)).await;
    app.start(Svc::Tenancy).await;
    tokio::time::sleep(Duration::from_millis(700)).await;
    let seen = running.finish().await;
    // After the bound: refused while tenancy is down (503) and once it is back (403), never
    // served from what was cached before the stop.
    assert_enforced(&seen, warm_until, changed_at, &["SERVICE_UNAVAILABLE", "NOT_A_MEMBER"]);
    let last = seen.last().unwrap();
    assert_eq!(last.1, Err("NOT_A_MEMBER".to_owned()), "tenancy back: the removal is answered");
    // The owner is served again once the stream is back.
    c.list_projects(&owner, list_projects()).await.unwrap();
}
