//! Cursor paging (`page_token` / `next_page_token`) of ListTasks and ListProjects: pages never
//! repeat or skip a row while rows are inserted between two page reads (offset paging does),
//! tokens are bound to the list, its filters and order, and a forged or altered one is 400
//! `INVALID_PAGE_TOKEN`.

#![allow(clippy::unwrap_used)]

use std::collections::HashSet;

use operant_proto::work::v1::*;
use operant_testkit::*;
use tonic::Code;

fn in_project(project: &Project, page: Option<operant_proto::common::v1::PageRequest>) -> ListTasksRequest {
    ListTasksRequest { page, project_id: Some(project.id.clone()), ..Default::default() }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_neither_repeat_nor_skip_while_rows_are_inserted() {
    let app = TestApp::spawn().await;
    let w = app.clients();
    let owner = w.owner("cursor").await;
    let project = w.project(&owner, "p").await;
    let n = 12;
    let mut before = Vec::new();
    for i in 0..n {
        before.push(w.task(&owner, &project, &format!("t{i}")).await.id);
    }
    for order_by in ["-created_at", "created_at", "title", "-updated_at"] {
        // By cursor: two new tasks between every two page reads.
        let (mut token, mut seen, mut inserted) = (String::new(), Vec::new(), 0);
        loop {
            let r =
                w.list_tasks(&owner, in_project(&project, page_after(&token, 4, order_by))).await.unwrap();
            seen.extend(r.tasks.into_iter().map(|t| t.id));
            token = r.page.unwrap().next_page_token;
            if token.is_empty() {
                break;
            }
            for _ in 0..2 {
                w.task(&owner, &project, &format!("new {order_by} {inserted}")).await;
                inserted += 1;
            }
        }
        let unique: HashSet<&String> = seen.iter().collect();
        assert_eq!(unique.len(), seen.len(), "order_by={order_by}: a row was sent twice: {seen:?}");
        for id in &before {
            assert!(unique.contains(id), "order_by={order_by}: task {id} was skipped");
        }
        assert!(inserted > 0);
    }

    // The same walk by offset, newest first, repeats rows: what the cursor is for.
    let (mut skip, mut seen) = (0, Vec::new());
    for _ in 0..3 {
        let r = w.list_tasks(&owner, in_project(&project, page(skip, 4, "-created_at"))).await.unwrap();
        seen.extend(r.tasks.into_iter().map(|t| t.id));
        w.task(&owner, &project, "pushes the others down").await;
        skip += 4;
    }
    let unique: HashSet<&String> = seen.iter().collect();
    assert!(unique.len() < seen.len(), "offset paging was expected to repeat a row here");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_are_bound_to_the_list_filters_and_order() {
    let app = TestApp::spawn().await;
    let w = app.clients();
    let owner = w.owner("bound").await;
    let other = w.owner("other").await;
    let project = w.project(&owner, "p").await;
    let second = w.project(&owner, "q").await;
    for i in 0..3 {
        w.task(&owner, &project, &format!("t{i}")).await;
    }
    let first = w.list_tasks(&owner, in_project(&project, page(0, 1, "title"))).await.unwrap();
    let token = first.page.unwrap().next_page_token;
    assert!(!token.is_empty(), "a first page of 1 of 3 has a next page");
    // The same list, filters and order take it: the second row.
    let next = w.list_tasks(&owner, in_project(&project, page_after(&token, 1, "title"))).await.unwrap();
    assert_eq!(next.tasks.iter().map(|t| t.title.as_str()).collect::<Vec<_>>(), ["t1"]);

    let invalid = |r: Result<ListTasksResponse, tonic::Status>| {
        assert_error(r, Code::InvalidArgument, "INVALID_PAGE_TOKEN", 400);
    };
    invalid(w.list_tasks(&owner, in_project(&project, page_after(&token, 1, "-title"))).await);
    invalid(w.list_tasks(&owner, in_project(&project, page_after(&token, 1, "created_at"))).await);
    invalid(w.list_tasks(&owner, in_project(&second, page_after(&token, 1, "title"))).await);
    let filtered = ListTasksRequest {
        statuses: vec![TaskStatus::Done as i32],
        ..in_project(&project, page_after(&token, 1, "title"))
    };
    invalid(w.list_tasks(&owner, filtered).await);
    let searched =
        ListTasksRequest { q: Some("t".into()), ..in_project(&project, page_after(&token, 1, "title")) };
    invalid(w.list_tasks(&owner, searched).await);
    // Another organization, even with the same filters.
    invalid(w.list_tasks(&other, in_project(&project, page_after(&token, 1, "title"))).await);
    // Altered: one character changed, cut short, made up.
    let mut altered = token.clone().into_bytes();
    let last = altered.len() - 1;
    altered[last] = if altered[last] == b'A' { b'B' } else { b'A' };
    for bad in [String::from_utf8(altered).unwrap(), token[..token.len() / 2].to_owned(), "abc".into()] {
        invalid(w.list_tasks(&owner, in_project(&project, page_after(&bad, 1, "title"))).await);
    }
    // A task list's token is not a project list's.
    let projects = ListProjectsRequest { page: page_after(&token, 1, "name"), ..Default::default() };
    assert_error(w.list_projects(&owner, projects).await, Code::InvalidArgument, "INVALID_PAGE_TOKEN", 400);
    // skip and a token exclude each other.
    let both = operant_proto::common::v1::PageRequest {
        skip: 1,
        limit: 1,
        order_by: "title".into(),
        page_token: token.clone(),
    };
    assert_invalid(w.list_tasks(&owner, in_project(&project, Some(both))).await, "skip");
    // The limit may change from page to page.
    let rest = w.list_tasks(&owner, in_project(&project, page_after(&token, 10, "title"))).await.unwrap();
    assert_eq!(rest.tasks.len(), 2);
    assert!(rest.page.unwrap().next_page_token.is_empty());
}

/// A bad page or filter is answered from the request alone: with tenancy stopped, it is still
/// 422, while a good request needs tenancy's `Authorize` (503).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_page_costs_no_call_to_tenancy() {
    let mut app = TestApp::spawn().await;
    let w = app.clients();
    let owner = w.owner("nohop").await;
    let project = w.project(&owner, "p").await;
    app.stop(Svc::Tenancy).await;
    assert_invalid(w.list_tasks(&owner, in_project(&project, page(0, 1000, ""))).await, "limit");
    assert_invalid(
        w.list_projects(&owner, ListProjectsRequest { page: page(0, 10, "colour"), ..Default::default() })
            .await,
        "order_by",
    );
    let bad_status = ListTasksRequest { statuses: vec![99], ..in_project(&project, None) };
    assert!(w.list_tasks(&owner, bad_status).await.is_err_and(|s| s.code() == Code::InvalidArgument));
    let forged = w.list_tasks(&owner, in_project(&project, page_after("forged", 10, ""))).await;
    assert_error(forged, Code::InvalidArgument, "INVALID_PAGE_TOKEN", 400);
    let good = w.list_tasks(&owner, in_project(&project, page(0, 10, ""))).await;
    assert_eq!(good.expect_err("tenancy is down").code(), Code::Unavailable);
}

/// The project check is part of the list: an unknown project (or another organization's) is 404.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_project_is_404_from_the_list_itself() {
    let app = TestApp::spawn().await;
    let w = app.clients();
    let owner = w.owner("np").await;
    let other = w.owner("np2").await;
    let theirs = w.project(&other, "theirs").await;
    w.task(&other, &theirs, "t").await;
    let r = w.list_tasks(&owner, in_project(&theirs, page(0, 10, ""))).await;
    assert_error(r, Code::NotFound, "PROJECT_NOT_FOUND", 404);
    let mine = w.project(&owner, "mine").await;
    let empty = w.list_tasks(&owner, in_project(&mine, page(0, 10, ""))).await.unwrap();
    assert_eq!((empty.tasks.len(), empty.page.unwrap().total), (0, 0));
}
