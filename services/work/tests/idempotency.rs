//! Safe retries over gRPC (AIP-155 `request_id`): a retry gets the stored response message with
//! the metadata `idempotent-replayed: true`; another request with the id is FAILED_PRECONDITION
//! `IDEMPOTENCY_KEY_REUSED`; parallel retries make one row, the others ABORTED
//! `IDEMPOTENCY_IN_FLIGHT`; ids are the caller's; a limit slot is used once.

#![allow(clippy::unwrap_used)]

use operant_proto::tenancy::v1::Role;
use operant_proto::work::v1::*;
use operant_testkit::*;
use tonic::Code;

fn create(name: &str, request_id: &str) -> CreateProjectRequest {
    CreateProjectRequest { request_id: request_id.into(), name: name.into(), description: None }
}

fn replayed<T>(response: &tonic::Response<T>) -> bool {
    response.metadata().get("idempotent-replayed").is_some_and(|v| v == "true")
}

async fn rows(app: &TestApp, table: &str, org: uuid::Uuid) -> i64 {
    let sql = format!("SELECT count(*) FROM {table} WHERE organization_id::text = $1");
    app.sql().await.query_one(&sql, &[&org.to_string()]).await.unwrap().get(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retried_request_id_gets_the_stored_response() {
    let app = TestApp::spawn().await;
    let w = app.clients();
    let owner = w.owner("alice").await;
    let mut projects = w.projects.clone();
    let id = uuid::Uuid::new_v4().to_string();

    let first = projects.create_project(owner.req(create("Apollo", &id))).await.unwrap();
    assert!(!replayed(&first));
    let again = projects.create_project(owner.req(create("Apollo", &id))).await.unwrap();
    assert!(replayed(&again));
    assert_eq!(again.into_inner(), first.into_inner(), "the same message");
    assert_eq!(rows(&app, "projects", owner.org).await, 1);

    let reused = projects.create_project(owner.req(create("Gemini", &id))).await;
    assert_error(reused, Code::FailedPrecondition, "IDEMPOTENCY_KEY_REUSED", 422);
    let bad = projects.create_project(owner.req(create("Gemini", "not visible ascii"))).await;
    assert_error(bad, Code::InvalidArgument, "INVALID_IDEMPOTENCY_KEY", 400);
    assert_eq!(rows(&app, "projects", owner.org).await, 1);

    // Tasks, and the same id used by another member: their own request.
    let project = w.project(&owner, "Tasks").await;
    let task = CreateTaskRequest {
        request_id: id.clone(),
        project_id: project.id.clone(),
        title: "Once".into(),
        ..Default::default()
    };
    let mut tasks = w.tasks.clone();
    let t1 = tasks.create_task(owner.req(task.clone())).await.unwrap().into_inner();
    let t2 = tasks.create_task(owner.req(task.clone())).await.unwrap();
    assert!(replayed(&t2));
    assert_eq!(t2.into_inner(), t1);
    let member = w.member(&owner, "bob", Role::Member).await;
    let t3 = tasks.create_task(member.req(task)).await.unwrap();
    assert!(!replayed(&t3));
    assert_ne!(t3.into_inner().task.unwrap().id, t1.task.unwrap().id);
    assert_eq!(rows(&app, "tasks", owner.org).await, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_parallel_calls_with_one_request_id_make_one_project() {
    let app = TestApp::spawn().await;
    let w = app.clients();
    let owner = w.owner("alice").await;
    let id = uuid::Uuid::new_v4().to_string();
    let calls = (0..20).map(|_| {
        let mut projects = w.projects.clone();
        let request = owner.req(create("Parallel", &id));
        async move { projects.create_project(request).await }
    });
    let (mut ok, mut aborted, mut ids) = (0, 0, Vec::new());
    for result in futures::future::join_all(calls).await {
        match result {
            Ok(response) => {
                ok += 1;
                ids.push(response.into_inner().project.unwrap().id);
            }
            Err(status) => {
                assert_error::<()>(Err(status), Code::Aborted, "IDEMPOTENCY_IN_FLIGHT", 409);
                aborted += 1;
            }
        }
    }
    assert_eq!(ok + aborted, 20);
    assert!(ok >= 1);
    ids.dedup();
    assert_eq!(ids.len(), 1);
    assert_eq!(rows(&app, "projects", owner.org).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_limit_slot_is_used_once_over_grpc() {
    let app = TestApp::spawn().await;
    let w = app.clients();
    let owner = w.owner("alice").await;
    let max = w.max_projects(&owner).await;
    for n in 1..max {
        w.project(&owner, &format!("p{n}")).await;
    }
    let mut projects = w.projects.clone();
    let last = projects.create_project(owner.req(create("Last", "last-slot"))).await.unwrap().into_inner();
    for _ in 0..3 {
        let again = projects.create_project(owner.req(create("Last", "last-slot"))).await.unwrap();
        assert!(replayed(&again));
        assert_eq!(again.into_inner(), last);
    }
    assert_eq!(rows(&app, "projects", owner.org).await, max);
    let over = projects.create_project(owner.req(create("Over", ""))).await;
    assert_error(over, Code::ResourceExhausted, "PLAN_LIMIT_REACHED", 403);
    // A kept refusal is replayed as it was, marked.
    let refused = projects.create_project(owner.req(create("Over", "over"))).await.unwrap_err();
    let again = projects.create_project(owner.req(create("Over", "over"))).await.unwrap_err();
    assert_eq!((again.code(), again.message()), (refused.code(), refused.message()));
    assert_eq!(again.metadata().get("idempotent-replayed").unwrap(), "true");
}
