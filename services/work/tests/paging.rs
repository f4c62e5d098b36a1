//! Paging and sorting of ListProjects and ListTasks: every `order_by` field in both directions,
//! across pages, with many rows sharing the sort value (set to identical timestamps in SQL), so
//! the id tie-breaker must keep pages from repeating or skipping rows.

#![allow(clippy::unwrap_used)]

use std::cmp::Ordering;

use operant_proto::work::v1::*;
use operant_testkit::*;
use prost_types::Timestamp;
use uuid::Uuid;

fn key(t: &Option<Timestamp>) -> Option<(i64, i32)> {
    t.as_ref().map(|t| (t.seconds, t.nanos))
}

/// PostgreSQL's order: NULLs are larger than every value (last ascending, first descending).
fn nulls_last<T: Ord>(a: &Option<T>, b: &Option<T>) -> Ordering {
    match (a, b) {
        (Some(a), Some(b)) => a.cmp(b),
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Greater,
        (Some(_), None) => Ordering::Less,
    }
}

fn id(s: &str) -> Uuid {
    s.parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tasks_every_order_across_pages_with_ties() {
    let app = TestApp::spawn().await;
    let w = app.clients();
    let owner = w.owner("pager").await;
    let project = w.project(&owner, "p").await;
    let n = 23;
    for i in 0..n {
        w.create_task(
            &owner,
            CreateTaskRequest {
                project_id: project.id.clone(),
                // Only four distinct titles and priorities: lots of ties.
                title: format!("title {}", i % 4),
                priority: (i % 4 + 1) as i32,
                due_date: (i % 3 != 0).then(|| Timestamp { seconds: 1_000_000 + (i % 5) as i64, nanos: 0 }),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    }
    // Everything created and updated at the very same instants.
    let sql = app.sql().await;
    sql.execute(
        "UPDATE tasks SET created_at = '2026-01-01T00:00:00Z', updated_at = '2026-01-02T00:00:00Z' WHERE organization_id = $1::text::uuid",
        &[&owner.org.to_string()],
    )
    .await
    .unwrap();

    let all = w
        .list_tasks(&owner, ListTasksRequest { page: page(0, 100, ""), ..Default::default() })
        .await
        .unwrap();
    assert_eq!(all.tasks.len(), n);

    type Cmp = fn(&Task, &Task) -> Ordering;
    let fields: [(&str, Cmp); 5] = [
        ("created_at", |a, b| key(&a.created_at).cmp(&key(&b.created_at))),
        ("updated_at", |a, b| key(&a.updated_at).cmp(&key(&b.updated_at))),
        ("due_date", |a, b| nulls_last(&key(&a.due_date), &key(&b.due_date))),
        ("priority", |a, b| a.priority.cmp(&b.priority)),
        ("title", |a, b| a.title.cmp(&b.title)),
    ];
    for (field, cmp) in fields {
        for descending in [false, true] {
            let order_by = if descending { format!("-{field}") } else { field.to_owned() };
            let mut expected = all.tasks.clone();
            expected.sort_by(|a, b| {
                let o = cmp(a, b).then_with(|| id(&a.id).cmp(&id(&b.id)));
                if descending { o.reverse() } else { o }
            });
            let mut seen = Vec::new();
            let mut skip = 0;
            loop {
                let r = w
                    .list_tasks(
                        &owner,
                        ListTasksRequest {
                            page: page(skip, 5, &order_by),
                            project_id: Some(project.id.clone()),
                            ..Default::default()
                        },
                    )
                    .await
                    .unwrap();
                let info = r.page.unwrap();
                assert_eq!((info.total, info.skip, info.limit), (n as i64, skip, 5));
                if r.tasks.is_empty() {
                    break;
                }
                seen.extend(r.tasks.into_iter().map(|t| t.id));
                skip += 5;
            }
            let expected: Vec<String> = expected.into_iter().map(|t| t.id).collect();
            assert_eq!(seen, expected, "order_by={order_by}");
            // The same walk by cursor: the keyset conditions (nulls of due_date included) give
            // the same rows in the same order, and the last page has no next token.
            let (mut token, mut by_cursor, mut pages) = (String::new(), Vec::new(), 0);
            loop {
                let r = w
                    .list_tasks(
                        &owner,
                        ListTasksRequest {
                            page: page_after(&token, 5, &order_by),
                            project_id: Some(project.id.clone()),
                            ..Default::default()
                        },
                    )
                    .await
                    .unwrap();
                pages += 1;
                by_cursor.extend(r.tasks.into_iter().map(|t| t.id));
                token = r.page.unwrap().next_page_token;
                if token.is_empty() {
                    break;
                }
            }
            assert_eq!(by_cursor, expected, "order_by={order_by} by cursor");
            assert_eq!(pages, n.div_ceil(5), "no empty last page");
        }
    }
    // The default is -created_at, i.e. (all ties here) id descending.
    let mut ids: Vec<Uuid> = all.tasks.iter().map(|t| id(&t.id)).collect();
    let listed = ids.clone();
    ids.sort_by(|a, b| b.cmp(a));
    assert_eq!(listed, ids);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn projects_every_order_across_pages_with_ties() {
    let app = TestApp::spawn().await;
    let w = app.clients();
    let owner = w.owner("pp").await;
    w.upgrade(&owner).await;
    let n = 13;
    for i in 0..n {
        w.project(&owner, &format!("name {}", i % 3)).await;
    }
    let sql = app.sql().await;
    // Two groups of identical creation times, one shared update time.
    sql.execute(
        "UPDATE projects SET created_at = CASE WHEN name = 'name 0' THEN '2026-01-01T00:00:00Z'::timestamptz \
         ELSE '2026-02-01T00:00:00Z'::timestamptz END, updated_at = '2026-03-01T00:00:00Z' WHERE organization_id = $1::text::uuid",
        &[&owner.org.to_string()],
    )
    .await
    .unwrap();
    let all = w
        .list_projects(&owner, ListProjectsRequest { page: page(0, 100, ""), ..Default::default() })
        .await
        .unwrap();
    assert_eq!(all.projects.len(), n);

    type Cmp = fn(&Project, &Project) -> Ordering;
    let fields: [(&str, Cmp); 3] = [
        ("created_at", |a, b| key(&a.created_at).cmp(&key(&b.created_at))),
        ("updated_at", |a, b| key(&a.updated_at).cmp(&key(&b.updated_at))),
        ("name", |a, b| a.name.cmp(&b.name)),
    ];
    for (field, cmp) in fields {
        for descending in [false, true] {
            let order_by = if descending { format!("-{field}") } else { field.to_owned() };
            let mut expected = all.projects.clone();
            expected.sort_by(|a, b| {
                let o = cmp(a, b).then_with(|| id(&a.id).cmp(&id(&b.id)));
                if descending { o.reverse() } else { o }
            });
            let mut seen = Vec::new();
            for skip in (0..n as i32 + 4).step_by(4) {
                let r = w
                    .list_projects(
                        &owner,
                        ListProjectsRequest { page: page(skip, 4, &order_by), ..Default::default() },
                    )
                    .await
                    .unwrap();
                assert_eq!(r.page.unwrap().total, n as i64);
                seen.extend(r.projects.into_iter().map(|p| p.id));
            }
            let expected: Vec<String> = expected.into_iter().map(|p| p.id).collect();
            assert_eq!(seen, expected, "order_by={order_by}");
            let (mut token, mut by_cursor) = (String::new(), Vec::new());
            loop {
                let r = w
                    .list_projects(
                        &owner,
                        ListProjectsRequest { page: page_after(&token, 4, &order_by), ..Default::default() },
                    )
                    .await
                    .unwrap();
                by_cursor.extend(r.projects.into_iter().map(|p| p.id));
                token = r.page.unwrap().next_page_token;
                if token.is_empty() {
                    break;
                }
            }
            assert_eq!(by_cursor, expected, "order_by={order_by} by cursor");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn project_filters_and_page_validation() {
    let app = TestApp::spawn().await;
    let w = app.clients();
    let owner = w.owner("pf").await;
    let member = w.member(&owner, "m", operant_proto::tenancy::v1::Role::Member).await;
    let mut projects = w.projects.clone();
    for (actor, name, description) in [
        (&owner, "rocket science", Some("about 100% of it")),
        (&owner, "gardening", Some("Rockets not included")),
        (&member, "cooking", None),
        (&member, "snake_case", Some("under_scores")),
    ] {
        projects
            .create_project(actor.req(CreateProjectRequest {
                request_id: String::new(),
                name: name.into(),
                description: description.map(Into::into),
            }))
            .await
            .unwrap();
    }
    let names = |r: ListProjectsResponse| {
        let total = r.page.unwrap().total;
        (r.projects.into_iter().map(|p| p.name).collect::<Vec<_>>(), total)
    };
    let list = |q: Option<&str>, created_by: Option<String>| {
        w.list_projects(
            &owner,
            ListProjectsRequest { page: page(0, 0, "name"), q: q.map(Into::into), created_by },
        )
    };
    assert_eq!(
        names(list(Some("ROCKET"), None).await.unwrap()),
        (vec!["gardening".into(), "rocket science".into()], 2)
    );
    assert_eq!(names(list(Some("%"), None).await.unwrap()).0, ["rocket science"]);
    assert_eq!(names(list(Some("e_c"), None).await.unwrap()).0, ["snake_case"]);
    assert_eq!(names(list(None, Some(member.id())).await.unwrap()).1, 2);
    assert_eq!(names(list(Some("cook"), Some(member.id())).await.unwrap()).0, ["cooking"]);
    assert_eq!(names(list(Some("cook"), Some(owner.id())).await.unwrap()).1, 0);

    // limit 0 means 20; skip past the end is an empty page with the total.
    let r = w.list_projects(&owner, ListProjectsRequest { page: None, ..Default::default() }).await.unwrap();
    assert_eq!((r.page.unwrap().limit, r.projects.len()), (20, 4));
    let r = w
        .list_projects(&owner, ListProjectsRequest { page: page(10, 1, ""), ..Default::default() })
        .await
        .unwrap();
    assert_eq!((r.projects.len(), r.page.unwrap().total), (0, 4));
    let r = w
        .list_projects(&owner, ListProjectsRequest { page: page(1, 2, "-name"), ..Default::default() })
        .await
        .unwrap();
    assert_eq!(
        r.projects.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(),
        ["rocket science", "gardening"]
    );

    for (bad, field) in [
        (page(0, 1000, ""), "limit"),
        (page(0, 101, ""), "limit"),
        (page(0, -1, ""), "limit"),
        (page(-1, 10, ""), "skip"),
        (page(0, 10, "colour"), "order_by"),
        (page(0, 10, "-"), "order_by"),
        (page(0, 10, "due_date"), "order_by"),
    ] {
        assert_invalid(
            w.list_projects(&owner, ListProjectsRequest { page: bad.clone(), ..Default::default() }).await,
            field,
        );
        if field != "order_by" {
            assert_invalid(
                w.list_tasks(&owner, ListTasksRequest { page: bad, ..Default::default() }).await,
                field,
            );
        }
    }
    assert_invalid(
        w.list_tasks(&owner, ListTasksRequest { page: page(0, 10, "name"), ..Default::default() }).await,
        "order_by",
    );
    assert_invalid(
        w.list_tasks(&owner, ListTasksRequest { page: page(0, 10, "-id"), ..Default::default() }).await,
        "order_by",
    );
}
