//! The per-service migration sets (`migrations/auth`, `migrations/tenancy`, `migrations/work`,
//! `migrations/events`)
//! against a real server: each set alone, all on one shared database, concurrently, and on a
//! database migrated before the split (the combined set of `tests/fixtures/`).
//!
//! Multi-threaded runtimes: the migration harness uses `block_in_place`.

use std::collections::{BTreeMap, BTreeSet};

use operant_platform::db::{ServiceMigrations, run_migrations};
use operant_testkit::{SERVICE_MIGRATIONS, TestDb, sql};
use tokio_postgres::Client;

/// The one combined set every database ran before the split, as it was on main then.
static BEFORE_SPLIT: ServiceMigrations = ServiceMigrations {
    service: "before-split",
    migrations: diesel_migrations::embed_migrations!("tests/fixtures/migrations-before-split"),
};

/// The tables each service owns (the README's crate map).
fn owned_tables() -> BTreeMap<&'static str, BTreeSet<&'static str>> {
    BTreeMap::from([
        (
            "auth",
            BTreeSet::from([
                "users",
                "sessions",
                "refresh_tokens",
                "signing_keys",
                "one_time_tokens",
                "login_attempts",
                "mail_outbox",
                "idempotency_keys",
            ]),
        ),
        (
            "tenancy",
            BTreeSet::from([
                "organizations",
                "subscriptions",
                "memberships",
                "audit_events",
                "invitations",
                "tenancy_mail_outbox",
                "api_keys",
                "api_key_attempts",
                "tenancy_idempotency_keys",
                "tenancy_event_outbox",
            ]),
        ),
        ("work", BTreeSet::from(["projects", "tasks", "work_idempotency_keys", "work_event_outbox"])),
        ("events", BTreeSet::from(["events", "webhook_attempts", "webhook_deliveries", "webhook_endpoints"])),
    ])
}

async fn tables(client: &Client) -> BTreeSet<String> {
    client
        .query(
            "SELECT table_name::text FROM information_schema.tables \
             WHERE table_schema = 'public' AND table_name <> '__diesel_schema_migrations'",
            &[],
        )
        .await
        .expect("list tables")
        .iter()
        .map(|row| row.get(0))
        .collect()
}

async fn applied_versions(client: &Client) -> BTreeSet<String> {
    client
        .query("SELECT version::text FROM __diesel_schema_migrations", &[])
        .await
        .expect("list applied versions")
        .iter()
        .map(|row| row.get(0))
        .collect()
}

/// Every column (with type, default and nullability), index, constraint of `public`: what two
/// databases must share to be the same schema.
async fn schema(client: &Client) -> Vec<String> {
    let mut lines = Vec::new();
    for query in [
        "SELECT table_name || '.' || column_name || ' ' || data_type || ' ' || is_nullable || ' ' || \
         coalesce(column_default, '') FROM information_schema.columns WHERE table_schema = 'public' \
         AND table_name <> '__diesel_schema_migrations'",
        "SELECT indexdef FROM pg_indexes WHERE schemaname = 'public' \
         AND tablename <> '__diesel_schema_migrations'",
        "SELECT conrelid::regclass::text || ' ' || pg_get_constraintdef(oid) FROM pg_constraint \
         WHERE connamespace = 'public'::regnamespace \
         AND conrelid <> '__diesel_schema_migrations'::regclass",
    ] {
        for row in client.query(query, &[]).await.expect("schema query") {
            lines.push(row.get::<_, String>(0));
        }
    }
    lines.sort();
    lines
}

fn versions(set: &ServiceMigrations) -> BTreeSet<String> {
    set.versions().expect("versions").into_iter().collect()
}

// On a shared database every set records its versions in the one diesel table: a version used
// by two sets would make the second service skip its migration there.
#[test]
fn versions_are_unique_across_the_services() {
    let mut seen = BTreeMap::new();
    for set in SERVICE_MIGRATIONS {
        for version in versions(set) {
            if let Some(other) = seen.insert(version.clone(), set.service) {
                panic!("version {version} is in both {other} and {}", set.service);
            }
        }
    }
    assert!(seen.len() >= 13, "{seen:?}");
}

// Every folder under migrations/ belongs to a set that the suite embeds and runs: one left out
// (or a folder at the top level, where the combined set used to live) would never be applied.
#[test]
fn every_migration_folder_is_in_a_service_set() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../migrations");
    let mut on_disk = BTreeSet::new();
    for service in std::fs::read_dir(&root).expect("read migrations/") {
        let service = service.expect("entry").path();
        assert!(service.is_dir(), "{} is not a service's folder", service.display());
        let name = service.file_name().expect("a name").to_string_lossy().into_owned();
        let set = SERVICE_MIGRATIONS
            .iter()
            .find(|set| set.service == name)
            .unwrap_or_else(|| panic!("migrations/{name} is no service's set (SERVICE_MIGRATIONS)"));
        for migration in std::fs::read_dir(&service).expect("read a service's migrations") {
            let migration = migration.expect("entry").path();
            assert!(migration.join("up.sql").is_file(), "{} has no up.sql", migration.display());
            let folder = migration.file_name().expect("a name").to_string_lossy().into_owned();
            let version = folder.split('_').next().expect("a version").replace('-', "");
            assert!(versions(set).contains(&version), "{folder} is not embedded in {name}'s set");
            on_disk.insert(version);
        }
    }
    let embedded: BTreeSet<_> = SERVICE_MIGRATIONS.iter().flat_map(|set| versions(set)).collect();
    assert_eq!(on_disk, embedded);
}

// A service with a database of its own creates only its own tables there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_service_alone_creates_only_its_own_tables() {
    let owned = owned_tables();
    for set in SERVICE_MIGRATIONS {
        let db = TestDb::empty().await;
        run_migrations(&db.url, set).await.expect("migrate");
        let client = sql::connect(&db.url).await;
        let expected: BTreeSet<String> = owned[set.service].iter().map(|t| t.to_string()).collect();
        assert_eq!(tables(&client).await, expected, "{}", set.service);
        assert_eq!(applied_versions(&client).await, versions(set), "{}", set.service);
    }
}

// Services sharing a database, each migrating only its own set, in any order: none chokes on
// the versions another recorded in the shared diesel table, and the result is the schema of
// `operant migrate` (all sets).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn services_migrating_one_shared_database_one_by_one() {
    let reference = TestDb::new().await;
    let expected = schema(&sql::connect(&reference.url).await).await;
    let db = TestDb::empty().await;
    for set in [&operant_work::MIGRATIONS, &operant_auth::MIGRATIONS, &operant_tenancy::MIGRATIONS] {
        run_migrations(&db.url, set).await.expect("migrate one service");
    }
    // Again, as every later start of a service does.
    for set in SERVICE_MIGRATIONS {
        run_migrations(&db.url, set).await.expect("migrate again");
    }
    let client = sql::connect(&db.url).await;
    assert_eq!(schema(&client).await, expected);
    let all: BTreeSet<_> = SERVICE_MIGRATIONS.iter().flat_map(|set| versions(set)).collect();
    assert_eq!(applied_versions(&client).await, all);
}

// The three services started together on one empty database each migrate their set at once:
// the one advisory lock of `run_migrations` (shared by every set) serializes them, so they do
// not race to create diesel's table.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_services_migrating_one_empty_database_at_once() {
    let reference = TestDb::new().await;
    let expected = schema(&sql::connect(&reference.url).await).await;
    for _round in 0..3 {
        let db = TestDb::empty().await;
        let runs: Vec<_> = SERVICE_MIGRATIONS
            .into_iter()
            .chain(SERVICE_MIGRATIONS)
            .map(|set| {
                let url = db.url.clone();
                tokio::spawn(async move { run_migrations(&url, set).await.map_err(|e| (set.service, e)) })
            })
            .collect();
        for run in runs {
            if let Err((service, e)) = run.await.expect("task") {
                panic!("{service} failed: {e:#}");
            }
        }
        assert_eq!(schema(&sql::connect(&db.url).await).await, expected);
    }
}

// History kept: a database migrated with the combined set (every database before the split)
// upgrades to the per-service sets with its data, and ends with exactly the schema of a fresh
// one. The split migration (2026-12-01-000016_keyset_indexes: work keeps the version, tenancy's
// invitation indexes moved to a new version) finds its indexes already there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_migrated_before_the_split_upgrades_with_its_data() {
    let reference = TestDb::new().await;
    let expected = schema(&sql::connect(&reference.url).await).await;

    let db = TestDb::empty().await;
    run_migrations(&db.url, &BEFORE_SPLIT).await.expect("the combined set of before the split");
    let client = sql::connect(&db.url).await;
    let before = applied_versions(&client).await;
    assert_eq!(before.len(), 12, "{before:?}");
    client
        .batch_execute(
            "INSERT INTO users (id, email, password_hash) VALUES (gen_random_uuid(), 'old@example.com', 'x');
             INSERT INTO organizations (id, name, slug) VALUES (gen_random_uuid(), 'Old', 'old');",
        )
        .await
        .expect("data of before the split");

    // Each service migrates its own set, as `operant serve <service>` does on a shared database.
    for set in SERVICE_MIGRATIONS {
        run_migrations(&db.url, set).await.unwrap_or_else(|e| panic!("upgrading {}: {e:#}", set.service));
    }

    assert_eq!(schema(&client).await, expected, "the upgraded schema is the fresh one");
    let after = applied_versions(&client).await;
    let new: Vec<_> = after.difference(&before).collect();
    // Besides the new half of the split migration, only what came after the split: the change
    // feed (events), work's and tenancy's outboxes, and the webhook tables and their index.
    assert_eq!(
        new,
        [
            "20261201000023",
            "20261201000030",
            "20261201000031",
            "20261201000041",
            "20261202000040",
            "20261202000042"
        ],
        "only the migrations newer than the combined set ran"
    );
    let all: BTreeSet<_> = SERVICE_MIGRATIONS.iter().flat_map(|set| versions(set)).collect();
    assert_eq!(after, all, "every version of the combined set is one of a service's");
    let kept: i64 = client
        .query_one(
            "SELECT (SELECT count(*) FROM users WHERE email = 'old@example.com') + \
             (SELECT count(*) FROM organizations WHERE slug = 'old')",
            &[],
        )
        .await
        .expect("count")
        .get(0);
    assert_eq!(kept, 2, "the data survives the upgrade");
}
