//! `EXPLAIN (ANALYZE, BUFFERS)` of the hot statements on a test database (BENCHMARKS.md records
//! the output): list projects, the filtered task list (first page, and page 500 of a 20,000-task
//! project by cursor) and create task. The deep page must start at its cursor: the same index,
//! no sort, and about the buffers of the first page instead of the 9,980 rows before it.
//! `cargo nextest run -p operant-work --no-capture explain_analyze` prints the plans.

#![allow(clippy::unwrap_used)]

use diesel::sql_types::{Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use operant_platform::paging::{Cursor, Page, PageTokens};
use operant_proto::common::v1::PageRequest;
use operant_testkit::TestDb;
use operant_work::model::{ProjectFilter, Status, TaskFilter};
use operant_work::repo::{projects, tasks};
use uuid::Uuid;

#[derive(diesel::QueryableByName)]
struct Key {
    #[diesel(sql_type = Timestamptz)]
    created_at: chrono::DateTime<chrono::Utc>,
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
}

#[derive(diesel::QueryableByName)]
struct Line {
    #[diesel(sql_type = Text, column_name = "QUERY PLAN")]
    line: String,
}

fn page<F: operant_platform::paging::SortField>(limit: i32) -> Page<F> {
    let request = PageRequest { skip: 0, limit, order_by: String::new(), page_token: String::new() };
    Page::parse(Some(&request), &PageTokens::new("explain"), &()).unwrap()
}

/// `shared hit` + `read` buffers of the plan's top node.
fn buffers(plan: &[String]) -> u64 {
    let line = plan.iter().find(|l| l.trim_start().starts_with("Buffers:")).cloned().unwrap_or_default();
    line.split_whitespace()
        .filter_map(|w| w.strip_prefix("hit=").or_else(|| w.strip_prefix("read=")))
        .filter_map(|n| n.parse::<u64>().ok())
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hot_statements_explained() {
    let db = TestDb::new().await;
    let mut conn = AsyncPgConnection::establish(&db.url).await.unwrap();
    let org = Uuid::now_v7();
    let project = Uuid::now_v7();
    let sql = |s: String| diesel::sql_query(s);
    sql(format!(
        "INSERT INTO projects (id, organization_id, name, created_by)
         SELECT CASE WHEN i = 0 THEN '{project}'::uuid ELSE gen_random_uuid() END, '{org}', 'project ' || i, '{org}'
         FROM generate_series(0, 19) AS i"
    ))
    .execute(&mut conn)
    .await
    .unwrap();
    sql(format!(
        "INSERT INTO tasks (id, organization_id, project_id, title, status, priority, created_by, created_at)
         SELECT gen_random_uuid(), '{org}', '{project}', 'task ' || i,
                (ARRAY['TODO', 'IN_PROGRESS', 'DONE'])[1 + i % 3], 1 + i % 4, '{org}',
                now() - make_interval(secs => i)
         FROM generate_series(1, 20000) AS i"
    ))
    .execute(&mut conn)
    .await
    .unwrap();
    sql("ANALYZE tasks".into()).execute(&mut conn).await.unwrap();
    sql("ANALYZE projects".into()).execute(&mut conn).await.unwrap();

    let mut report = String::new();
    let mut show = |title: &str, plan: &[String]| {
        report.push_str(&format!("\n-- {title}\n{}\n", plan.join("\n")));
    };

    let plan =
        projects::explain_analyze_list(&mut conn, org, &ProjectFilter::default(), &page(20)).await.unwrap();
    show("ListProjects(limit 20, -created_at), 20 projects", &plan);
    assert!(!plan.join("\n").contains("Seq Scan on projects") || plan.join("\n").contains("rows=20"));

    let todo = TaskFilter { project_id: Some(project), statuses: vec![Status::Todo], ..Default::default() };
    let plan = tasks::explain_analyze_list(&mut conn, org, &todo, &page(20)).await.unwrap();
    show("ListTasks(project, status=TODO, limit 20, -created_at), first page", &plan);

    let all = TaskFilter { project_id: Some(project), ..Default::default() };
    let first = tasks::explain_analyze_list(&mut conn, org, &all, &page(20)).await.unwrap();
    show("ListTasks(project, limit 20, -created_at), page 1 of 20,000 tasks", &first);
    // The cursor of page 500: the last row of page 499 in -created_at order.
    let key: Key = sql(format!(
        "SELECT created_at, id FROM tasks WHERE project_id = '{project}' ORDER BY created_at DESC, id DESC OFFSET 9979 LIMIT 1"
    ))
    .get_result(&mut conn)
    .await
    .unwrap();
    let mut deep = page::<tasks::TaskSort>(20);
    deep.after = Some(Cursor::time(key.created_at, key.id));
    let deep_plan = tasks::explain_analyze_list(&mut conn, org, &all, &deep).await.unwrap();
    show("ListTasks(project, limit 20, -created_at), page 500 by cursor", &deep_plan);
    let todo_deep = tasks::explain_analyze_list(&mut conn, org, &todo, &deep).await.unwrap();
    show("ListTasks(project, status=TODO, limit 20, -created_at), after the same cursor", &todo_deep);

    let deep_text = deep_plan.join("\n");
    assert!(deep_text.contains("Index Scan"), "no index scan for the deep page:\n{deep_text}");
    assert!(!deep_text.contains("Sort"), "the index should deliver the order:\n{deep_text}");
    assert!(
        buffers(&deep_plan) <= 3 * buffers(&first) + 10,
        "page 500 reads {} buffers, page 1 {}:\n{deep_text}",
        buffers(&deep_plan),
        buffers(&first)
    );

    // CreateTask's INSERT, in a transaction rolled back.
    sql("BEGIN".into()).execute(&mut conn).await.unwrap();
    let insert: Vec<Line> = sql(format!(
        "EXPLAIN (ANALYZE, BUFFERS) INSERT INTO tasks (id, organization_id, project_id, title, description, status, priority, assignee_id, due_date, created_by, actor_type)
         VALUES ('{}', '{org}', '{project}', 'bench load task', NULL, 'TODO', 3, NULL, NULL, '{org}', 'USER')
         RETURNING id, organization_id, project_id, title, description, status, priority, assignee_id, due_date, created_by, created_at, updated_at, version, actor_type",
        Uuid::now_v7()
    ))
    .load(&mut conn)
    .await
    .unwrap();
    sql("ROLLBACK".into()).execute(&mut conn).await.unwrap();
    show(
        "CreateTask: INSERT … RETURNING (with the composite foreign key check)",
        &insert.into_iter().map(|l| l.line).collect::<Vec<_>>(),
    );
    println!("{report}");
}
