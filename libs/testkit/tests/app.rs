//! The test kit's own suite: one service of a running [`TestApp`] stops and comes back on the
//! same address while the others keep serving, and the builder's users, organizations (on a
//! plan) and projects are what the services report.

use operant_proto::tenancy::v1::{GetSubscriptionRequest, Plan};
use operant_proto::work::v1::ListProjectsRequest;
use operant_testkit::health::{SERVING, health};
use operant_testkit::{Svc, TestApp, as_user};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_service_stops_and_restarts_while_the_others_serve() {
    let (mut app, owner) = TestApp::init().with_user("owner").await;
    let c = app.clients();
    let org = c.org_on(&owner, "restart", Plan::Pro).await;
    let request = || as_user(GetSubscriptionRequest { organization_id: org.clone() }, &owner);
    let sub = c.subs.clone().get_subscription(request()).await.expect("subscription").into_inner();
    assert_eq!(sub.subscription.expect("subscription").plan(), Plan::Pro);

    app.stop(Svc::Tenancy).await;
    assert_eq!(health(app.tenancy_addr).await, None, "a stopped service does not answer");
    assert_eq!(health(app.auth_addr).await, Some(SERVING));
    assert!(c.subs.clone().get_subscription(request()).await.is_err());

    app.start(Svc::Tenancy).await;
    // The same clients reach it again on the same address.
    let sub = c.subs.clone().get_subscription(request()).await.expect("after restart").into_inner();
    assert_eq!(sub.subscription.expect("subscription").plan(), Plan::Pro);

    app.restart(Svc::Work).await;
    let actor = operant_testkit::Actor { user: owner.clone(), org: org.parse().expect("org id") };
    c.project(&actor, "after a restart").await;
    let listed = c.list_projects(&actor, ListProjectsRequest::default()).await.expect("list");
    assert_eq!(listed.projects.len(), 1);
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_left_out_is_not_running_and_can_be_started() {
    let mut app = TestApp::init().without(Svc::Work).spawn().await;
    let c = app.clients();
    let owner = c.owner("late").await;
    assert_eq!(health(app.work_addr).await, None);
    let refused =
        c.list_projects(&owner, ListProjectsRequest::default()).await.expect_err("work is not running");
    assert_eq!(refused.code(), tonic::Code::Unavailable, "{refused:?}");
    app.start(Svc::Work).await;
    assert!(c.list_projects(&owner, ListProjectsRequest::default()).await.expect("list").projects.is_empty());
    app.shutdown().await;
}
