//! The test database helper against a real server: the private one, or the one named by
//! `OPERANT_TEST_DATABASE_URL`.

use operant_testkit::TestDb;
use tokio_postgres::{Client, NoTls};

async fn connect(url: &str) -> Client {
    let (client, connection) =
        tokio_postgres::connect(url, NoTls).await.unwrap_or_else(|e| panic!("connecting to {url}: {e}"));
    tokio::spawn(connection);
    client
}

async fn table_exists(client: &Client, table: &str) -> bool {
    client
        .query_one("SELECT to_regclass($1) IS NOT NULL", &[&format!("public.{table}")])
        .await
        .expect("to_regclass")
        .get(0)
}

async fn database_exists(server_url: &str, name: &str) -> bool {
    connect(server_url)
        .await
        .query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&name])
        .await
        .expect("pg_database lookup")
        .is_some()
}

/// Columns of every table in `public`, plus the user-visible data of a few tables: what a
/// second migration run must leave untouched.
async fn schema_snapshot(client: &Client) -> Vec<String> {
    client
        .query(
            "SELECT table_name || '.' || column_name || ':' || data_type \
             FROM information_schema.columns WHERE table_schema = 'public' \
             ORDER BY table_name, ordinal_position",
            &[],
        )
        .await
        .expect("information_schema")
        .iter()
        .map(|r| r.get(0))
        .collect()
}

#[tokio::test]
async fn parallel_databases_are_distinct_and_migrated() {
    let (a, b) = tokio::join!(TestDb::new(), TestDb::new());
    assert_ne!(a.name, b.name);
    assert_ne!(a.url, b.url);
    assert!(a.name.starts_with("operant_test_"), "{}", a.name);

    let (ca, cb) = (connect(&a.url).await, connect(&b.url).await);
    for client in [&ca, &cb] {
        for table in ["users", "organizations", "projects"] {
            assert!(table_exists(client, table).await, "table {table} missing");
        }
        let users: i64 =
            client.query_one("SELECT count(*) FROM users", &[]).await.expect("count users").get(0);
        assert_eq!(users, 0, "a fresh database is empty");
    }

    ca.execute(
        "INSERT INTO users (id, email, password_hash) VALUES (gen_random_uuid(), 'a@example.com', 'x')",
        &[],
    )
    .await
    .expect("insert into a");
    let in_b: i64 = cb.query_one("SELECT count(*) FROM users", &[]).await.expect("count users in b").get(0);
    assert_eq!(in_b, 0, "databases are isolated");
}

// Multi-threaded: the migration harness uses `block_in_place`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrations_are_rerunnable() {
    let db = TestDb::new().await;
    let client = connect(&db.url).await;
    client
        .execute(
            "INSERT INTO users (id, email, password_hash) VALUES (gen_random_uuid(), 'keep@example.com', 'x')",
            &[],
        )
        .await
        .expect("insert");
    let before = schema_snapshot(&client).await;
    assert!(!before.is_empty());

    operant_testkit::migrate_all(&db.url).await.expect("running the migrations again on a migrated database");

    assert_eq!(schema_snapshot(&client).await, before, "schema changed");
    let kept: i64 = client
        .query_one("SELECT count(*) FROM users WHERE email = 'keep@example.com'", &[])
        .await
        .expect("count")
        .get(0);
    assert_eq!(kept, 1, "data survives a second migration run");
}

#[tokio::test]
async fn drop_removes_the_database_even_with_open_connections() {
    let db = TestDb::new().await;
    let (name, server_url) = (db.name.clone(), db.server_url().to_owned());
    let open = connect(&db.url).await;
    assert!(database_exists(&server_url, &name).await);

    drop(db);

    assert!(!database_exists(&server_url, &name).await, "{name} still exists");
    assert!(open.is_closed() || open.simple_query("SELECT 1").await.is_err());
}

/// Drop must work outside any runtime too (e.g. a value kept past the runtime's end).
#[test]
fn drop_works_outside_a_runtime() {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let db = runtime.block_on(TestDb::new());
    let (name, server_url) = (db.name.clone(), db.server_url().to_owned());
    drop(runtime);

    drop(db);

    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    assert!(!runtime.block_on(database_exists(&server_url, &name)));
}

/// Drop inside a multi-threaded runtime (the other tests use the current-thread one).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drop_works_in_a_multi_thread_runtime() {
    let db = TestDb::new().await;
    let (name, server_url) = (db.name.clone(), db.server_url().to_owned());
    drop(db);
    assert!(!database_exists(&server_url, &name).await);
}

// Replicas starting together each run the migrations: the advisory lock in `run_migrations`
// lets one apply them while the others wait, then find nothing pending. Without it they race to
// create the same tables and all but one fail.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_migration_runs_on_an_empty_database_all_succeed() {
    let probe = TestDb::new().await;
    let name = format!("operant_test_race_{}", uuid::Uuid::new_v4().simple());
    connect(probe.server_url())
        .await
        .execute(&format!("CREATE DATABASE {name}"), &[])
        .await
        .expect("create an empty database");
    let base = probe.server_url().rsplit_once('/').map(|(base, _)| base.to_owned()).expect("server url");
    let url = format!("{base}/{name}");
    let runs: Vec<_> = (0..4)
        .map(|_| {
            let url = url.clone();
            tokio::spawn(async move { operant_testkit::migrate_all(&url).await })
        })
        .collect();
    for (i, run) in runs.into_iter().enumerate() {
        run.await.expect("task").unwrap_or_else(|e| panic!("migration run {i} failed: {e:#}"));
    }
    let client = connect(&url).await;
    for table in ["users", "organizations", "projects", "tasks"] {
        assert!(table_exists(&client, table).await, "table {table} missing");
    }
    drop(client);
    let _ =
        connect(probe.server_url()).await.execute(&format!("DROP DATABASE {name} WITH (FORCE)"), &[]).await;
}

// `db::Prepared` keeps a raw SQL statement prepared on its connection (diesel re-parses plain
// `sql_query` statements on every call): seen in the connection's own `pg_prepared_statements`.
#[tokio::test]
async fn prepared_raw_sql_stays_prepared_and_plain_raw_sql_does_not() {
    use diesel::sql_types::{BigInt, Integer};
    use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
    use operant_platform::db::Prepared;

    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }

    let db = TestDb::new().await;
    let mut conn = AsyncPgConnection::establish(&db.url).await.expect("connect");
    for _ in 0..3 {
        Prepared(diesel::sql_query("SELECT $1::int AS cached_probe").bind::<Integer, _>(1))
            .execute(&mut conn)
            .await
            .expect("prepared");
        diesel::sql_query("SELECT $1::int AS plain_probe")
            .bind::<Integer, _>(1)
            .execute(&mut conn)
            .await
            .expect("plain");
    }
    let count = |probe: &'static str| {
        diesel::sql_query("SELECT count(*) AS n FROM pg_prepared_statements WHERE statement LIKE $1")
            .bind::<diesel::sql_types::Text, _>(format!("%{probe}%"))
    };
    let cached: Count = count("cached_probe").get_result(&mut conn).await.expect("count");
    let plain: Count = count("plain_probe").get_result(&mut conn).await.expect("count");
    assert_eq!(cached.n, 1, "one named prepared statement, reused");
    assert_eq!(plain.n, 0, "plain sql_query is never kept");
}
