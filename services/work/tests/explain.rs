//! The filtered task list uses an index: a project with 10,000 tasks (seeded with one
//! `INSERT … SELECT generate_series`), the query the repository builds for `project_id` +
//! `status = TODO` ordered by `-created_at` with `limit 20`, explained by PostgreSQL. The plan is
//! printed (`cargo nextest run -p operant-work --no-capture explain`).

#![allow(clippy::unwrap_used)]

use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use operant_platform::paging::Page;
use operant_testkit::TestDb;
use operant_work::model::{Status, TaskFilter};
use operant_work::repo::tasks::{TaskSort, explain_list};
use uuid::Uuid;

/// Seeds `count` tasks in a new project of `org`, statuses cycling TODO / IN_PROGRESS / DONE.
async fn seed(conn: &mut AsyncPgConnection, org: Uuid, count: i32) -> Uuid {
    let project = Uuid::now_v7();
    diesel::sql_query(format!(
        "INSERT INTO projects (id, organization_id, name, created_by) VALUES ('{project}', '{org}', 'big', '{org}')"
    ))
    .execute(conn)
    .await
    .unwrap();
    diesel::sql_query(format!(
        "INSERT INTO tasks (id, organization_id, project_id, title, status, priority, created_by, created_at)
         SELECT gen_random_uuid(), '{org}', '{project}', 'task ' || i,
                (ARRAY['TODO', 'IN_PROGRESS', 'DONE'])[1 + i % 3], 1 + i % 4, '{org}',
                now() - make_interval(secs => i)
         FROM generate_series(1, {count}) AS i"
    ))
    .execute(conn)
    .await
    .unwrap();
    project
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filtered_task_list_uses_an_index() {
    let db = TestDb::new().await;
    let mut conn = AsyncPgConnection::establish(&db.url).await.unwrap();
    let org = Uuid::now_v7();
    let project = seed(&mut conn, org, 10_000).await;
    // Neighbours: other projects of the same and of another organization.
    seed(&mut conn, org, 5_000).await;
    seed(&mut conn, Uuid::now_v7(), 10_000).await;
    diesel::sql_query("ANALYZE tasks").execute(&mut conn).await.unwrap();
    diesel::sql_query("ANALYZE projects").execute(&mut conn).await.unwrap();

    let filter = TaskFilter { project_id: Some(project), statuses: vec![Status::Todo], ..Default::default() };
    let page = Page::<TaskSort>::parse(
        Some(&operant_proto::common::v1::PageRequest {
            skip: 0,
            limit: 20,
            order_by: "-created_at".into(),
            page_token: String::new(),
        }),
        &operant_platform::paging::PageTokens::new("test"),
        &(),
    )
    .unwrap();
    let plan = explain_list(&mut conn, org, &filter, &page).await.unwrap();
    let text = plan.join("\n");
    println!(
        "EXPLAIN of ListTasks(project_id, statuses=[TODO], order_by=-created_at, limit=20) over 25,000 tasks:\n{text}"
    );

    assert!(!text.contains("Seq Scan on tasks"), "sequential scan of tasks:\n{text}");
    assert!(
        text.contains("Index Scan Backward using tasks_project_status_created_idx on tasks")
            || text.contains("Index Scan using tasks_"),
        "no index scan on a tasks index:\n{text}"
    );
    assert!(!text.contains("Sort"), "the index should deliver the order without a sort:\n{text}");
}
