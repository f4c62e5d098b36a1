//! The order of a list's checks: the page and filters are parsed before the `Authorize` hop to
//! tenancy, but their errors are answered after it, so a non-member is 403 `NOT_A_MEMBER`
//! whatever the page and only a member learns that the page is invalid (422).

#![allow(clippy::unwrap_used)]

use operant_proto::work::v1::*;
use operant_testkit::*;
use tonic::Code;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_page_is_403_for_non_members_and_422_for_members() {
    let app = TestApp::spawn().await;
    let w = app.clients();
    let owner = w.owner("order").await;
    let outsider = w.owner("outsider").await.in_org(owner.org);
    let bad_pages = [page(0, 1000, ""), page(-1, 10, ""), page(0, 10, "colour")];
    for bad in bad_pages {
        let projects = ListProjectsRequest { page: bad.clone(), ..Default::default() };
        let tasks = ListTasksRequest { page: bad, assignee_id: Some("nobody".into()), ..Default::default() };
        assert_error(
            w.list_projects(&outsider, projects.clone()).await,
            Code::PermissionDenied,
            "NOT_A_MEMBER",
            403,
        );
        assert_error(
            w.list_tasks(&outsider, tasks.clone()).await,
            Code::PermissionDenied,
            "NOT_A_MEMBER",
            403,
        );
        assert!(w.list_projects(&owner, projects).await.is_err_and(|s| s.code() == Code::InvalidArgument));
        assert!(w.list_tasks(&owner, tasks).await.is_err_and(|s| s.code() == Code::InvalidArgument));
    }
    // A bad filter alone: the same order.
    let created_by = ListProjectsRequest { created_by: Some("nobody".into()), ..Default::default() };
    assert_error(
        w.list_projects(&outsider, created_by.clone()).await,
        Code::PermissionDenied,
        "NOT_A_MEMBER",
        403,
    );
    assert_invalid(w.list_projects(&owner, created_by).await, "created_by");
    // `assignee_id=me` still means the caller, known only after `Authorize`.
    let mine = ListTasksRequest { assignee_id: Some("me".into()), ..Default::default() };
    assert_eq!(w.list_tasks(&owner, mine).await.unwrap().page.unwrap().total, 0);
}
