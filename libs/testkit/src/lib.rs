//! The one test kit of every Operant crate: each crate's tests start what they need from here.
//!
//! - [`TestDb`] (this module): a fresh, migrated database per test (below).
//! - `app`: [`TestApp`], the whole suite in-process on ephemeral ports (`TestApp::spawn()`,
//!   `TestApp::init().with_user("owner")`, services left out, one service stopped, started or
//!   restarted on its address while the others serve).
//! - `clients`: typed gRPC clients of every service and request helpers (`bearer`, `as_user`,
//!   `in_org`, `with_service_token`, `page`); `users`: users, organizations on a plan, teams,
//!   members, projects and tasks made through the real API, one [`PASSWORD`].
//! - `grpc_web` (a browser's grpc-web call over HTTP/1.1), `rest` (the gateway's REST client), `lone` (a gateway with no services behind it),
//!   `replica` (auth replicas with a capturing mailer), `mailbox` (the mail tenancy delivers:
//!   invitations), `smtp` (a real SMTP server on loopback), `errors` (assertions on error codes),
//!   `health`, `sql` (direct SQL for checks), `wait` (waiting on an observable event).
//!
//! [`TestDb`] gives each test its own freshly migrated, empty PostgreSQL database, so tests can
//! run in parallel (nextest runs each one in its own process) without seeing each other's rows
//! and without cleaning up after one another.
//!
//! Why it is built this way:
//!
//! - **Which server.** `OPERANT_TEST_DATABASE_URL` (a server URL such as
//!   `postgres://postgres@127.0.0.1:5432/postgres`) when set; otherwise a private server started
//!   from the installed PostgreSQL binaries in `<workspace>/target/operant-test-pg` by
//!   [`operant_devdb::PrivatePostgres`]. That server is shared by every test process
//!   and left running for the next run (startup is serialized across processes by the file
//!   lock in `PrivatePostgres::start`); `.ci/run` stops it at the end of CI.
//! - **Fast databases.** Running the migrations for every test would dominate test time.
//!   They run once into a template database named after a hash of `<workspace>/migrations`
//!   (`operant_tpl_<hash>`; one service's set alone, for a service's own database:
//!   `operant_tpl_<hash>_<service>`), and each test gets `CREATE DATABASE … TEMPLATE`, a file-level
//!   copy. A change to any migration changes the hash, so a stale schema is never reused.
//!   The admin SQL (create, clone, rename, drop, advisory lock) is [`operant_devdb::Admin`]'s;
//!   this module decides the names and the policy.
//! - **Safe template builds.** Building is serialized across processes by a PostgreSQL
//!   advisory lock. The template is built as `<name>_building` and renamed when complete, so a
//!   crashed build never leaves a half-migrated template; it is then marked `IS_TEMPLATE` and
//!   `ALLOW_CONNECTIONS false`, because `CREATE DATABASE … TEMPLATE` fails while anyone is
//!   connected to the template.
//! - **Cleanup.** Dropping a [`TestDb`] drops its database (`WITH (FORCE)`, so connections the
//!   test left open do not block it) unless `OPERANT_TEST_KEEP_DB=1`, to inspect it after a
//!   failure. Databases leaked by killed tests are swept after an hour (their names embed a
//!   UUIDv7, i.e. their creation time), and templates of other migration hashes are swept when
//!   a new template is built.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use anyhow::{Context as _, anyhow, bail};
use operant_devdb::admin::{Admin, Cloned};
use operant_devdb::{PrivatePostgres, url_with_database};
use operant_platform::db::ServiceMigrations;
use sha2::{Digest as _, Sha256};
use tokio::sync::OnceCell;
use uuid::Uuid;

/// Server URL to use instead of the private server.
pub const DATABASE_URL_ENV: &str = "OPERANT_TEST_DATABASE_URL";
/// Set to `1` to keep test databases after the test.
pub const KEEP_DB_ENV: &str = "OPERANT_TEST_KEEP_DB";

const TEST_DB_PREFIX: &str = "operant_test_";
const TEMPLATE_PREFIX: &str = "operant_tpl_";
/// Key of the advisory lock that serializes template builds ("operant\x01").
const TEMPLATE_LOCK_KEY: i64 = 0x6f70_6572_616e_7401;
/// Test databases older than this are considered leaked and dropped.
const LEAKED_AFTER: Duration = Duration::from_secs(60 * 60);

/// A fresh, fully migrated, empty database for one test, dropped when this value is dropped.
#[derive(Debug)]
pub struct TestDb {
    /// URL of the database, e.g. `postgres://postgres@127.0.0.1:25432/operant_test_0192…`.
    pub url: String,
    /// Name of the database.
    pub name: String,
    server_url: String,
}

impl TestDb {
    /// A fresh, fully migrated, empty database for one test.
    ///
    /// # Panics
    /// When no database can be made (no server, failed migrations…), with the reason.
    pub async fn new() -> TestDb {
        match Self::try_new().await {
            Ok(db) => db,
            Err(e) => panic!("TestDb::new: could not create a test database: {e:#}"),
        }
    }

    /// [`TestDb::new`], returning the error instead of panicking.
    pub async fn try_new() -> anyhow::Result<TestDb> {
        Self::from_template(Schema::All).await
    }

    /// A fresh, empty database with only `set`'s migrations: one service's own database, as
    /// when each service has its own (`OPERANT_<SERVICE>_DATABASE_URL`).
    ///
    /// # Panics
    /// When no database can be made, with the reason.
    pub async fn for_service(set: &'static ServiceMigrations) -> TestDb {
        match Self::from_template(Schema::One(set)).await {
            Ok(db) => db,
            Err(e) => panic!("TestDb::for_service({}): could not create a database: {e:#}", set.service),
        }
    }

    async fn from_template(schema: Schema) -> anyhow::Result<TestDb> {
        let server_url = server_url().await?;
        let template = template(server_url, schema).await?;
        let template = template.as_str();
        let name = format!("{TEST_DB_PREFIX}{}", Uuid::now_v7().simple());
        let admin = Admin::connect(server_url).await?;
        for attempt in 1.. {
            match admin.create_database_from_template(&name, template).await? {
                Cloned::Created => break,
                // The template was swept by a run with other migrations: build it again.
                Cloned::TemplateMissing if attempt < 3 => {
                    build_template(server_url, template, schema).await?
                }
                Cloned::TemplateMissing => bail!("the template database {template} keeps disappearing"),
            }
        }
        admin.close().await;
        Ok(TestDb { url: url_with_database(server_url, &name)?, name, server_url: server_url.to_owned() })
    }

    /// A fresh database without any migration (for tests of the migrations themselves), dropped
    /// like any other when this value is dropped.
    pub async fn empty() -> TestDb {
        async fn make() -> anyhow::Result<TestDb> {
            let server_url = server_url().await?;
            let name = format!("{TEST_DB_PREFIX}{}", Uuid::now_v7().simple());
            let admin = Admin::connect(server_url).await?;
            let created = admin.create_database(&name).await;
            admin.close().await;
            created?;
            Ok(TestDb { url: url_with_database(server_url, &name)?, name, server_url: server_url.to_owned() })
        }
        make().await.unwrap_or_else(|e| panic!("TestDb::empty: could not create a database: {e:#}"))
    }

    /// URL of the server's `postgres` database (as given or as started), for checks that look
    /// at the server rather than at this database.
    pub fn server_url(&self) -> &str {
        &self.server_url
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if std::env::var(KEEP_DB_ENV).is_ok_and(|v| v == "1") {
            eprintln!("{KEEP_DB_ENV}=1: keeping test database {}", self.url);
            return;
        }
        // Drop cannot be async and may run inside a runtime (where block_on panics) or outside
        // any: a thread with its own current-thread runtime works in both cases.
        let server_url = self.server_url.clone();
        let name = self.name.clone();
        let outcome = std::thread::Builder::new()
            .name("testdb-drop".to_owned())
            .spawn(move || -> anyhow::Result<()> {
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .context("building a runtime")?
                    .block_on(drop_database(&server_url, &name))
            })
            .map_err(anyhow::Error::from)
            .and_then(|thread| thread.join().map_err(|_| anyhow!("the dropping thread panicked"))?);
        if let Err(e) = outcome {
            eprintln!("warning: could not drop test database {}: {e:#}", self.name);
        }
    }
}

/// The server URL, starting the private server on first use in this process.
async fn server_url() -> anyhow::Result<&'static str> {
    static SERVER_URL: OnceCell<String> = OnceCell::const_new();
    let url = SERVER_URL
        .get_or_try_init(|| async {
            if let Ok(url) = std::env::var(DATABASE_URL_ENV)
                && !url.is_empty()
            {
                return Ok(url);
            }
            let data_dir = workspace_root().join("target").join("operant-test-pg");
            let server = PrivatePostgres::start(&data_dir).await.with_context(|| {
                format!(
                    "starting the private test PostgreSQL in {} (set {DATABASE_URL_ENV} to use \
                     another server)",
                    data_dir.display()
                )
            })?;
            // Not stopped on drop: the server is shared with the other test processes.
            anyhow::Ok(server.url())
        })
        .await?;
    Ok(url.as_str())
}

/// What a template database holds.
#[derive(Clone, Copy)]
enum Schema {
    /// Every service's migrations: one database shared by the services.
    All,
    /// One service's migrations: that service's own database.
    One(&'static ServiceMigrations),
}

/// The template's name (`operant_tpl_<hash>`, or `operant_tpl_<hash>_<service>` for one
/// service's set), made sure to exist once per process and schema.
async fn template(server_url: &str, schema: Schema) -> anyhow::Result<String> {
    static BASE: OnceCell<String> = OnceCell::const_new();
    static ENSURED: tokio::sync::Mutex<Vec<String>> = tokio::sync::Mutex::const_new(Vec::new());
    let base = BASE.get_or_try_init(|| async { template_name(&workspace_root().join("migrations")) }).await?;
    let name = match schema {
        Schema::All => base.clone(),
        Schema::One(set) => format!("{base}_{}", set.service),
    };
    let mut ensured = ENSURED.lock().await;
    if !ensured.contains(&name) {
        ensure_template(server_url, &name, schema).await?;
        ensured.push(name.clone());
    }
    Ok(name)
}

fn workspace_root() -> PathBuf {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir.parent().and_then(Path::parent).unwrap_or(manifest_dir).to_path_buf()
}

/// `operant_tpl_` + the first 12 hex digits of a SHA-256 over every file under
/// `migrations_dir`, sorted by path, hashing each relative path and contents.
pub fn template_name(migrations_dir: &Path) -> anyhow::Result<String> {
    fn collect(dir: &Path, out: &mut Vec<PathBuf>) -> anyhow::Result<()> {
        let entries = std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))?;
        for entry in entries {
            let path = entry.with_context(|| format!("reading {}", dir.display()))?.path();
            if path.is_dir() {
                collect(&path, out)?;
            } else {
                out.push(path);
            }
        }
        Ok(())
    }
    let mut files = Vec::new();
    collect(migrations_dir, &mut files)?;
    if files.is_empty() {
        bail!("no migrations found in {}", migrations_dir.display());
    }
    files.sort();
    let mut hasher = Sha256::new();
    for file in &files {
        let relative = file.strip_prefix(migrations_dir).unwrap_or(file);
        let contents = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
        let relative = relative.as_os_str().as_encoded_bytes();
        // Lengths make the encoding unambiguous (no file boundary can be shifted).
        hasher.update((relative.len() as u64).to_le_bytes());
        hasher.update(relative);
        hasher.update((contents.len() as u64).to_le_bytes());
        hasher.update(&contents);
    }
    let digest = hasher.finalize();
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    Ok(format!("{TEMPLATE_PREFIX}{}", &hex[..12]))
}

/// Every service's migrations, in the order `operant migrate` applies them.
pub const SERVICE_MIGRATIONS: [&ServiceMigrations; 4] = [
    &operant_auth::MIGRATIONS,
    &operant_tenancy::MIGRATIONS,
    &operant_work::MIGRATIONS,
    &operant_events::MIGRATIONS,
];

/// Applies every service's migrations to one (shared) database, as `operant migrate` does when
/// only `OPERANT_DATABASE_URL` is set.
pub async fn migrate_all(url: &str) -> anyhow::Result<()> {
    for set in SERVICE_MIGRATIONS {
        operant_platform::db::run_migrations(url, set).await?;
    }
    Ok(())
}

/// Makes sure the template exists, building it if needed; also sweeps leaked test databases.
async fn ensure_template(server_url: &str, template: &str, schema: Schema) -> anyhow::Result<()> {
    let admin = Admin::connect(server_url).await?;
    let exists = admin.database_exists(template).await?;
    sweep_leaked_test_databases(&admin).await;
    admin.close().await;
    if !exists {
        build_template(server_url, template, schema).await?;
    }
    Ok(())
}

/// Builds the template under the advisory lock (a no-op if another process built it while we
/// waited for the lock).
async fn build_template(server_url: &str, template: &str, schema: Schema) -> anyhow::Result<()> {
    let admin = Admin::connect(server_url).await?;
    admin.advisory_lock(TEMPLATE_LOCK_KEY).await.context("taking the template advisory lock")?;
    let built = async {
        if admin.database_exists(template).await? {
            return Ok(());
        }
        sweep_other_templates(&admin, template_base(template)).await;
        build_template_locked(&admin, server_url, template, schema).await
    }
    .await;
    // Closing the session releases the advisory lock as well; unlock explicitly anyway.
    admin.advisory_unlock(TEMPLATE_LOCK_KEY).await;
    admin.close().await;
    built.with_context(|| format!("building the template database {template}"))
}

/// `operant_tpl_<hash>` of a template name (without a `_<service>` suffix).
fn template_base(template: &str) -> &str {
    let hash_end = (TEMPLATE_PREFIX.len() + 12).min(template.len());
    &template[..hash_end]
}

async fn build_template_locked(
    admin: &Admin,
    server_url: &str,
    template: &str,
    schema: Schema,
) -> anyhow::Result<()> {
    let building = format!("{template}_building");
    admin.drop_template_database(&building).await?;
    admin.create_database(&building).await?;

    let url = url_with_database(server_url, &building)?;
    match schema {
        Schema::All => migrate_all(&url).await,
        Schema::One(set) => operant_platform::db::run_migrations(&url, set).await,
    }
    .with_context(|| format!("running the migrations on {url}"))?;

    // From now on nobody may connect, so that CREATE DATABASE … TEMPLATE never finds a
    // session on it; then end any session the migrations left behind and rename.
    admin.seal_template(&building).await?;
    admin.rename_database(&building, template).await
}

/// Drops databases named like templates of another migration hash than `keep` (the
/// `operant_tpl_<hash>` of the current migrations, whose per-service templates are kept too)
/// and `_building` leftovers of crashed builds. Runs under the advisory lock, so no
/// build is in progress; a concurrent `CREATE DATABASE … TEMPLATE` from a template being
/// dropped finishes first (the drop waits for its lock), and later ones rebuild it.
async fn sweep_other_templates(admin: &Admin, keep: &str) {
    let names = match admin.list_databases(TEMPLATE_PREFIX).await {
        Ok(names) => names,
        Err(e) => {
            eprintln!("warning: listing stale test templates: {e:#}");
            return;
        }
    };
    let current = |n: &str| n == keep || (n.starts_with(&format!("{keep}_")) && !n.ends_with("_building"));
    for name in names.iter().filter(|n| !current(n)) {
        if let Err(e) = admin.drop_template_database(name).await {
            eprintln!("warning: dropping stale test template {name}: {e:#}");
        }
    }
}

/// Drops test databases created more than [`LEAKED_AFTER`] ago (by tests that were killed or
/// kept their database). Failures are only reported: sweeping is best effort.
async fn sweep_leaked_test_databases(admin: &Admin) {
    let names = match admin.list_databases(TEST_DB_PREFIX).await {
        Ok(names) => names,
        Err(e) => {
            eprintln!("warning: listing leaked test databases: {e:#}");
            return;
        }
    };
    for name in names.iter().filter(|n| is_leaked(n, SystemTime::now())) {
        if let Err(e) = admin.drop_database(name).await {
            eprintln!("warning: dropping leaked test database {name}: {e:#}");
        }
    }
}

/// Whether test database `name` (`operant_test_<UUIDv7>`) was created over an hour before
/// `now`. Names that do not carry a UUIDv7 are never considered leaked.
fn is_leaked(name: &str, now: SystemTime) -> bool {
    let Some(created) = name
        .strip_prefix(TEST_DB_PREFIX)
        .and_then(|id| Uuid::try_parse(id).ok())
        .and_then(|id| id.get_timestamp())
    else {
        return false;
    };
    let (secs, nanos) = created.to_unix();
    let created = SystemTime::UNIX_EPOCH + Duration::new(secs, nanos);
    now.duration_since(created).is_ok_and(|age| age > LEAKED_AFTER)
}

async fn drop_database(server_url: &str, name: &str) -> anyhow::Result<()> {
    let admin = Admin::connect(server_url).await?;
    let dropped = admin.drop_database(name).await;
    admin.close().await;
    dropped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_databases_expire_after_an_hour() {
        let now = SystemTime::now();
        let fresh = format!("{TEST_DB_PREFIX}{}", Uuid::now_v7().simple());
        assert!(!is_leaked(&fresh, now));
        assert!(is_leaked(&fresh, now + Duration::from_secs(2 * 60 * 60)));
        assert!(!is_leaked("operant_test_not_a_uuid", now));
        let v4 = format!("{TEST_DB_PREFIX}{}", Uuid::new_v4().simple());
        assert!(!is_leaked(&v4, now + Duration::from_secs(2 * 60 * 60)));
    }

    #[test]
    fn template_name_follows_the_migrations() -> anyhow::Result<()> {
        let dir = std::env::temp_dir().join(format!("operant-testkit-{}", Uuid::new_v4()));
        std::fs::create_dir_all(dir.join("001_a"))?;
        std::fs::write(dir.join("001_a/up.sql"), "CREATE TABLE a ();")?;
        let first = template_name(&dir)?;
        assert!(first.starts_with(TEMPLATE_PREFIX));
        assert_eq!(first.len(), TEMPLATE_PREFIX.len() + 12);
        assert_eq!(template_name(&dir)?, first);
        std::fs::write(dir.join("001_a/up.sql"), "CREATE TABLE b ();")?;
        let second = template_name(&dir)?;
        assert_ne!(second, first);
        std::fs::rename(dir.join("001_a"), dir.join("002_a"))?;
        assert_ne!(template_name(&dir)?, second);
        std::fs::remove_dir_all(&dir)?;
        Ok(())
    }
}

// The suite and what tests make with it (see each module's docs). The modules above this line
// own the databases; these own the services, clients and test data.
mod app;
mod clients;
mod errors;
pub mod grpc_web;
pub mod health;
pub mod lone;
mod mailbox;
pub mod proxy;
pub mod receiver;
mod replica;
pub mod rest;
pub mod smtp;
pub mod sql;
mod users;
mod wait;

pub use app::{Svc, TestApp, TestAppBuilder, free_port};
pub use clients::{
    Clients, ServiceChannel, as_user, bearer, field_mask, in_org, lazy_channel, page, page_after, random_id,
    with_key, with_service_token,
};
pub use errors::{
    assert_error, assert_forbidden, assert_invalid, assert_not_found, assert_version_mismatch, code,
    http_status, violations,
};
pub use mailbox::{Mailbox, token_of};
pub use replica::{CapturingMailer, Replica};
pub use users::{Actor, ApiKey, PASSWORD, Team, User, unique_email};
pub use wait::eventually;

/// Logs of the code under test, shown by the test runner for failing tests
/// (`OPERANT_LOG=debug` for more).
pub fn init_test_tracing() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("OPERANT_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_test_writer()
        .try_init();
}
