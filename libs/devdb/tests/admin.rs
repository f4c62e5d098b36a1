//! The admin SQL against a real server: `OPERANT_TEST_DATABASE_URL` when set, else the private
//! test server in `<workspace>/target/operant-test-pg` (shared with the testkit's tests).

use std::path::Path;
use std::time::{Duration, SystemTime};

use operant_devdb::admin::{Admin, Cloned};
use operant_devdb::{PrivatePostgres, ensure_database, url_with_database};

async fn server_url() -> String {
    if let Ok(url) = std::env::var("OPERANT_TEST_DATABASE_URL")
        && !url.is_empty()
    {
        return url;
    }
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let pg =
        PrivatePostgres::start(&workspace.join("target/operant-test-pg")).await.expect("test PostgreSQL");
    pg.url()
}

/// A name prefix no other test run uses.
fn unique_prefix() -> String {
    let nanos = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).expect("clock").as_nanos();
    format!("operant_devdb_test_{}_{nanos}_", std::process::id())
}

/// A session on database `name`, and the task driving it.
async fn session(
    server_url: &str,
    name: &str,
) -> Result<(tokio_postgres::Client, tokio::task::JoinHandle<()>), tokio_postgres::Error> {
    let url = url_with_database(server_url, name).expect("url");
    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await?;
    let task = tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok((client, task))
}

#[tokio::test]
async fn databases_are_created_sealed_cloned_renamed_and_dropped() {
    let url = server_url().await;
    let prefix = unique_prefix();
    let (template, copy, renamed, missing) = (
        format!("{prefix}tpl"),
        format!("{prefix}copy"),
        format!("{prefix}renamed"),
        format!("{prefix}none"),
    );
    let admin = Admin::connect(&url).await.expect("admin connection");

    assert!(!admin.database_exists(&template).await.expect("exists"));
    admin.create_database(&template).await.expect("create");
    assert!(admin.database_exists(&template).await.expect("exists"));
    let (client, task) = session(&url, &template).await.expect("connect to the template");
    client.batch_execute("CREATE TABLE marker (id int); INSERT INTO marker VALUES (7)").await.expect("fill");
    drop(client);
    let _ = task.await;

    // Sealed: nobody may connect, and it can be cloned.
    admin.seal_template(&template).await.expect("seal");
    assert!(session(&url, &template).await.is_err(), "a sealed template accepts no connections");
    assert_eq!(admin.create_database_from_template(&copy, &template).await.expect("clone"), Cloned::Created);
    assert_eq!(
        admin.create_database_from_template(&missing, &format!("{prefix}nope")).await.expect("clone"),
        Cloned::TemplateMissing
    );
    assert!(!admin.database_exists(&missing).await.expect("exists"));

    // The copy has the template's rows; renaming it ends the session still connected to it.
    let (client, _task) = session(&url, &copy).await.expect("connect to the copy");
    let row = client.query_one("SELECT id FROM marker", &[]).await.expect("select");
    assert_eq!(row.get::<_, i32>(0), 7);
    admin.rename_database(&copy, &renamed).await.expect("rename");
    assert!(
        client.query_one("SELECT 1", &[]).await.is_err(),
        "the session on the renamed database was ended"
    );

    let mut names = admin.list_databases(&prefix).await.expect("list");
    names.sort();
    assert_eq!(names, vec![renamed.clone(), template.clone()]);

    // A template cannot be dropped as it is; drop_template_database unmarks it first.
    admin.drop_template_database(&template).await.expect("drop template");
    let (_client, _task) = session(&url, &renamed).await.expect("connect to the renamed copy");
    admin.drop_database(&renamed).await.expect("drop with a session open");
    admin.drop_database(&renamed).await.expect("dropping a missing database is a no-op");
    assert!(admin.list_databases(&prefix).await.expect("list").is_empty());
    admin.close().await;
}

#[tokio::test]
async fn ensure_database_is_idempotent_and_race_free() {
    let url = server_url().await;
    let name = format!("{}ensured", unique_prefix());
    let racers: Vec<_> = (0..4)
        .map(|_| {
            let (url, name) = (url.clone(), name.clone());
            tokio::spawn(async move { ensure_database(&url, &name).await })
        })
        .collect();
    for racer in racers {
        racer.await.expect("task").expect("ensure_database");
    }
    ensure_database(&url, &name).await.expect("again");
    let admin = Admin::connect(&url).await.expect("admin connection");
    assert!(admin.database_exists(&name).await.expect("exists"));
    admin.drop_database(&name).await.expect("drop");
    admin.close().await;
}

#[tokio::test]
async fn the_advisory_lock_excludes_other_sessions() {
    // Not the testkit's key: this test must not hold up template builds.
    const KEY: i64 = 0x6465_7664_6274_6573;
    let url = server_url().await;
    let first = Admin::connect(&url).await.expect("first session");
    let second = Admin::connect(&url).await.expect("second session");
    first.advisory_lock(KEY).await.expect("lock");
    let waiter = tokio::spawn(async move {
        second.advisory_lock(KEY).await.expect("lock");
        second
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!waiter.is_finished(), "a second session took a held lock");
    first.advisory_unlock(KEY).await;
    let second = tokio::time::timeout(Duration::from_secs(10), waiter)
        .await
        .expect("the lock was not handed over")
        .expect("task");
    second.advisory_unlock(KEY).await;
    second.close().await;
    first.close().await;
}
