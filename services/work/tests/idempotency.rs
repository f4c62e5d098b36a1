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

/// The one-statement path of a fresh key (task, key and kept answer written together): 20
/// parallel calls with one id make one task and every answer is that task, exactly as a later
/// read gives it back (the answer is made before the insert, to the microsecond stored); the key
/// row is there, and an unknown project is still a kept refusal.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_parallel_task_creations_with_one_request_id_make_one_task() {
    let app = TestApp::spawn().await;
    let w = app.clients();
    let owner = w.owner("alice").await;
    let project = w.project(&owner, "Board").await;
    let id = uuid::Uuid::new_v4().to_string();
    let request = CreateTaskRequest {
        request_id: id.clone(),
        project_id: project.id.clone(),
        title: "Exactly once".into(),
        description: Some("made before it is stored".into()),
        due_date: Some(prost_types::Timestamp { seconds: 1_900_000_000, nanos: 123_456_789 }),
        ..Default::default()
    };
    let calls = (0..20).map(|_| {
        let mut tasks = w.tasks.clone();
        let request = owner.req(request.clone());
        async move { tasks.create_task(request).await }
    });
    let mut answers = Vec::new();
    for result in futures::future::join_all(calls).await {
        match result {
            Ok(response) => answers.push(response.into_inner()),
            Err(status) => {
                assert_error(Err::<(), _>(status), Code::Aborted, "IDEMPOTENCY_IN_FLIGHT", 409);
            }
        }
    }
    assert!(!answers.is_empty());
    assert!(answers.iter().all(|a| a == &answers[0]), "every answer is the one task");
    assert_eq!(rows(&app, "tasks", owner.org).await, 1);
    let kept: i64 = app
        .sql()
        .await
        .query_one("SELECT count(*) FROM work_idempotency_keys WHERE key = $1", &[&id])
        .await
        .unwrap()
        .get(0);
    assert_eq!(kept, 1);

    let created = answers[0].task.clone().unwrap();
    let mut tasks = w.tasks.clone();
    let read =
        tasks.get_task(owner.req(GetTaskRequest { task_id: created.id.clone() })).await.unwrap().into_inner();
    assert_eq!(read.task.unwrap(), created, "the answer is the stored row");
    assert_eq!(created.due_date.unwrap().nanos, 123_456_000, "microseconds, as stored");

    let missing = CreateTaskRequest {
        request_id: "missing-project".into(),
        project_id: uuid::Uuid::new_v4().to_string(),
        title: "Nowhere".into(),
        ..Default::default()
    };
    for _ in 0..2 {
        let refused = tasks.create_task(owner.req(missing.clone())).await;
        assert_error(refused, Code::NotFound, "PROJECT_NOT_FOUND", 404);
    }
    assert_eq!(rows(&app, "tasks", owner.org).await, 1);
    let kept_refusal: i64 = app
        .sql()
        .await
        .query_one("SELECT count(*) FROM work_idempotency_keys WHERE key = 'missing-project'", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(kept_refusal, 1, "the refusal is kept");
}
