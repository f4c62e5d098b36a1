//! WorkInternalService end to end: usage counts and the organization purge, callable only with
//! the service credential.

#![allow(clippy::unwrap_used)]

use operant_proto::work::v1::work_internal_service_client::WorkInternalServiceClient;
use operant_proto::work::v1::*;
use operant_testkit::*;
use tonic::Code;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_and_purge() {
    let app = TestApp::spawn().await;
    let w = app.clients();
    let alice = w.owner("alice").await;
    let bob = w.owner("bob").await;
    let mut internal = w.work_internal.clone();
    let usage = |org: String| GetOrganizationUsageRequest { organization_id: org };

    assert_eq!(
        internal.get_organization_usage(usage(alice.org.to_string())).await.unwrap().into_inner().projects,
        0
    );
    let p1 = w.project(&alice, "one").await;
    let p2 = w.project(&alice, "two").await;
    for title in ["a", "b", "c"] {
        w.task(&alice, &p1, title).await;
    }
    w.task(&alice, &p2, "d").await;
    let bobs = w.project(&bob, "bob's").await;
    let bobs_task = w.task(&bob, &bobs, "keep me").await;

    assert_eq!(
        internal.get_organization_usage(usage(alice.org.to_string())).await.unwrap().into_inner().projects,
        2
    );
    assert_eq!(
        internal.get_organization_usage(usage(bob.org.to_string())).await.unwrap().into_inner().projects,
        1
    );

    let purge = |org: String| PurgeOrganizationRequest { organization_id: org };
    let purged = internal.purge_organization(purge(alice.org.to_string())).await.unwrap().into_inner();
    assert_eq!((purged.projects_deleted, purged.tasks_deleted), (2, 4));
    // Idempotent.
    let again = internal.purge_organization(purge(alice.org.to_string())).await.unwrap().into_inner();
    assert_eq!((again.projects_deleted, again.tasks_deleted), (0, 0));
    assert_eq!(
        internal.get_organization_usage(usage(alice.org.to_string())).await.unwrap().into_inner().projects,
        0
    );
    assert_eq!(w.list_tasks(&alice, ListTasksRequest::default()).await.unwrap().page.unwrap().total, 0);

    // Bob's organization is untouched.
    let kept = w.tasks.clone().get_task(bob.req(GetTaskRequest { task_id: bobs_task.id })).await.unwrap();
    assert_eq!(kept.into_inner().task.unwrap().title, "keep me");

    assert_invalid(internal.get_organization_usage(usage("nope".into())).await, "organization_id");
    assert_invalid(internal.purge_organization(purge(String::new())).await, "organization_id");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn end_users_cannot_call_internal_rpcs() {
    let app = TestApp::spawn().await;
    let w = app.clients();
    let alice = w.owner("alice").await;
    let mut as_user = WorkInternalServiceClient::new(app.channel(app.work_addr).await);
    assert_error(
        as_user
            .purge_organization(
                alice.req(PurgeOrganizationRequest { organization_id: alice.org.to_string() }),
            )
            .await,
        Code::PermissionDenied,
        "SERVICE_ONLY",
        403,
    );
    assert_error(
        as_user
            .get_organization_usage(tonic::Request::new(GetOrganizationUsageRequest {
                organization_id: alice.org.to_string(),
            }))
            .await,
        Code::PermissionDenied,
        "SERVICE_ONLY",
        403,
    );
}
