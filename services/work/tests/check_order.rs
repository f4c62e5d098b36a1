//! The order of a list's checks: authentication (local), then the page and filters (parsed and
//! validated once, from the request alone), then tenancy's `Authorize`. A bad page is 422 for any
//! authenticated caller without costing the hop to tenancy (it tells nothing about the
//! organization); a valid request of a non-member is 403 `NOT_A_MEMBER`.

#![allow(clippy::unwrap_used)]

use operant_proto::work::v1::*;
use operant_testkit::*;
use tonic::Code;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_page_is_422_before_the_membership_check() {
    let app = TestApp::spawn().await;
    let w = app.clients();
    let owner = w.owner("order").await;
    let outsider = w.owner("outsider").await.in_org(owner.org);
    let bad_pages = [page(0, 1000, ""), page(-1, 10, ""), page(0, 10, "colour")];
    for bad in bad_pages {
        let projects = ListProjectsRequest { page: bad.clone(), ..Default::default() };
        let tasks = ListTasksRequest { page: bad, assignee_id: Some("nobody".into()), ..Default::default() };
        for actor in [&owner, &outsider] {
            assert!(
                w.list_projects(actor, projects.clone())
                    .await
                    .is_err_and(|s| s.code() == Code::InvalidArgument)
            );
            assert!(
                w.list_tasks(actor, tasks.clone()).await.is_err_and(|s| s.code() == Code::InvalidArgument)
            );
        }
    }
    // A bad filter alone: the same order.
    let created_by = ListProjectsRequest { created_by: Some("nobody".into()), ..Default::default() };
    assert_invalid(w.list_projects(&outsider, created_by.clone()).await, "created_by");
    assert_invalid(w.list_projects(&owner, created_by).await, "created_by");
    // A valid request of a non-member is refused by the membership check.
    assert_error(
        w.list_projects(&outsider, ListProjectsRequest::default()).await,
        Code::PermissionDenied,
        "NOT_A_MEMBER",
        403,
    );
    assert_error(
        w.list_tasks(&outsider, ListTasksRequest::default()).await,
        Code::PermissionDenied,
        "NOT_A_MEMBER",
        403,
    );
    // No token at all is 401 before anything else, bad page or not.
    let anonymous = w
        .projects
        .clone()
        .list_projects(ListProjectsRequest { page: page(0, 1000, ""), ..Default::default() })
        .await;
    assert_eq!(anonymous.expect_err("no token").code(), Code::Unauthenticated);
    // `assignee_id=me` still means the caller, known only after `Authorize`.
    let mine = ListTasksRequest { assignee_id: Some("me".into()), ..Default::default() };
    assert_eq!(w.list_tasks(&owner, mine).await.unwrap().page.unwrap().total, 0);
}
