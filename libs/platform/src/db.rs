//! PostgreSQL access shared by the services: a diesel-async connection pool with timeouts, the
//! migration runner (each service embeds its own migrations), and a probe that keeps gRPC health
//! in step with the database.
//!
//! Every pooled connection gets a server-side `statement_timeout` (and `plan_cache_mode =
//! force_generic_plan`, see [`pool`]), so a stuck query fails instead
//! of holding a request forever; waiting for a connection is bounded by the acquire timeout, so
//! requests fail fast (503 `DATABASE_UNAVAILABLE`) while PostgreSQL is down, and the pool heals by
//! itself once it is back (broken connections are discarded on return).

use std::time::Duration;

use anyhow::Context as _;
use diesel::migration::{Migration, MigrationSource};
use diesel::pg::Pg;
use diesel_async::pooled_connection::deadpool::{Object, Pool, PoolError};
use diesel_async::pooled_connection::{AsyncDieselConnectionManager, ManagerConfig, RecyclingMethod};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness};
use futures::FutureExt;

use crate::config::DatabaseConfig;
use crate::error::ApiError;

/// The migrations of one service: `migrations/<service>/` at the workspace root, embedded by the
/// service's crate (`operant_auth::MIGRATIONS`, ...) and applied by [`run_migrations`] to that
/// service's database only.
///
/// Every set records its versions in the same diesel table (`__diesel_schema_migrations`), so
/// several services can share one database: a service applies the versions of its own set that
/// are not recorded yet and ignores the others' rows. Versions must therefore be unique across
/// the sets (diesel's folder naming, `YYYY-MM-DD-NNNNNN_name`: the version is the date and
/// number), which a test of the testkit checks.
pub struct ServiceMigrations {
    /// The owning service (`auth`, `tenancy`, `work`), for logs and errors.
    pub service: &'static str,
    /// `embed_migrations!("../../migrations/<service>")`.
    pub migrations: EmbeddedMigrations,
}

impl ServiceMigrations {
    /// The versions of this set (diesel's: the folder name's date and number, dashes removed).
    pub fn versions(&self) -> anyhow::Result<Vec<String>> {
        let migrations = MigrationSource::<Pg>::migrations(&self.migrations)
            .map_err(|e| anyhow::anyhow!("reading the {} migrations: {e}", self.service))?;
        Ok(migrations.iter().map(|m| m.name().version().to_string()).collect())
    }
}

/// Lends a `&'static ServiceMigrations` to the harness, which takes its source by value.
struct Source(&'static ServiceMigrations);

impl MigrationSource<Pg> for Source {
    fn migrations(&self) -> diesel::migration::Result<Vec<Box<dyn Migration<Pg>>>> {
        MigrationSource::<Pg>::migrations(&self.0.migrations)
    }
}

/// The pool type every service uses.
pub type PgPool = Pool<AsyncPgConnection>;
/// A connection checked out of [`PgPool`].
pub type PgConn = Object<AsyncPgConnection>;

/// Builds the pool. Connections are opened lazily, so this succeeds while PostgreSQL is down.
pub fn pool(url: &str, cfg: &DatabaseConfig) -> anyhow::Result<PgPool> {
    let statement_timeout_ms = cfg.statement_timeout.as_millis();
    let connect_timeout = cfg.connect_timeout;
    let mut manager_config = ManagerConfig::<AsyncPgConnection>::default();
    // `Fast` skips the ping on every checkout: a broken connection is detected by its first
    // failing query and discarded, which costs one failed request instead of one round trip on
    // every request.
    manager_config.recycling_method = RecyclingMethod::Fast;
    manager_config.custom_setup = Box::new(move |url| {
        let url = url.to_owned();
        async move {
            let mut conn =
                tokio::time::timeout(connect_timeout, AsyncPgConnection::establish(&url))
                    .await
                    .map_err(|_| diesel::ConnectionError::BadConnection("connect timed out".into()))??;
            // Generic plans for the prepared statements: with the default `auto`, PostgreSQL
            // keeps re-planning a statement on every execution whenever its custom plans are
            // estimated cheaper than the generic one (the task lists filtered by status: the
            // count and the page were planned on every call, planning costing more than running
            // them; BENCHMARKS.md, "Instructions per request"). Every hot statement is an index
            // lookup whose plan does not depend on the values.
            conn.batch_execute(&format!(
                "SET statement_timeout = {statement_timeout_ms}; SET plan_cache_mode = force_generic_plan"
            ))
            .await
            .map_err(diesel::ConnectionError::CouldntSetupConfiguration)?;
            Ok(conn)
        }
        .boxed()
    });
    let manager = AsyncDieselConnectionManager::new_with_config(url, manager_config);
    let pool = Pool::builder(manager)
        .max_size(cfg.pool_size)
        .runtime(deadpool::Runtime::Tokio1)
        .wait_timeout(Some(cfg.acquire_timeout))
        .create_timeout(Some(cfg.connect_timeout))
        .recycle_timeout(Some(cfg.connect_timeout))
        .build()?;
    Ok(pool)
}

/// Checks a connection out of the pool; failures are 503 `DATABASE_UNAVAILABLE`.
pub async fn conn(pool: &PgPool) -> Result<PgConn, ApiError> {
    pool.get().await.map_err(|e: PoolError| ApiError::database_unavailable(e))
}

/// Applies the pending migrations of one service's set to the database at `database_url`.
/// Re-running it is a no-op; versions recorded by other services' sets (a shared database) are
/// left alone.
///
/// Every migration run of the suite goes through here: `operant migrate`, `operant dev`, a
/// service started by `operant serve` (`OPERANT_RUN_MIGRATIONS`) and the tests' template
/// databases. Concurrent runs on one database, of the same set or of different ones (three
/// services starting together on a shared database), are serialized by one PostgreSQL advisory
/// lock.
///
/// Works on any tokio runtime. The migration harness blocks (`block_in_place`), which a
/// current-thread runtime (`#[tokio::test]`'s default) forbids; there the migrations run on a
/// thread of their own with its own runtime, which is gone, connection included, on return.
pub async fn run_migrations(database_url: &str, set: &'static ServiceMigrations) -> anyhow::Result<()> {
    if !matches!(
        tokio::runtime::Handle::current().runtime_flavor(),
        tokio::runtime::RuntimeFlavor::CurrentThread
    ) {
        return migrate(database_url, set).await;
    }
    let url = database_url.to_owned();
    let (done_tx, done_rx) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("migrate".to_owned())
        .spawn(move || {
            let result = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .context("building a runtime for the migrations")
                .and_then(|runtime| runtime.block_on(migrate(&url, set)));
            let _ = done_tx.send(result);
        })
        .context("spawning the migration thread")?;
    done_rx.await.map_err(|_| anyhow::anyhow!("the migration thread panicked"))?
}

/// [`run_migrations`] on a multi-threaded runtime.
async fn migrate(database_url: &str, set: &'static ServiceMigrations) -> anyhow::Result<()> {
    let service = set.service;
    let mut conn = AsyncPgConnection::establish(database_url)
        .await
        .with_context(|| format!("connecting to the {service} database"))?;
    // Replicas starting together (or a migration Job beside them) would race to create the
    // same tables: one runs the migrations, the others wait here and then find nothing pending.
    // The key is the same for every service's set: on a shared database they would also race to
    // create diesel's `__diesel_schema_migrations`. A session lock, released by the unlock below
    // or, at the latest, when the connection closes.
    diesel::sql_query("SELECT pg_advisory_lock($1)")
        .bind::<diesel::sql_types::BigInt, _>(MIGRATION_LOCK)
        .execute(&mut conn)
        .await
        .context("waiting for the migration lock")?;
    let mut harness = diesel_async::AsyncMigrationHarness::new(conn);
    let applied = tokio::task::block_in_place(|| {
        harness
            .run_pending_migrations(Source(set))
            .map(|versions| versions.iter().map(ToString::to_string).collect::<Vec<_>>())
            .map_err(|e| anyhow::anyhow!("{service} migrations failed: {e}"))
    });
    let mut conn = harness.into_inner();
    let _ = diesel::sql_query("SELECT pg_advisory_unlock($1)")
        .bind::<diesel::sql_types::BigInt, _>(MIGRATION_LOCK)
        .execute(&mut conn)
        .await;
    drop(conn);
    let applied = applied?;
    if !applied.is_empty() {
        tracing::info!(service, ?applied, "applied migrations");
    }
    Ok(())
}

/// Advisory lock key held while migrations run ("operant-migrate" in ASCII, truncated).
const MIGRATION_LOCK: i64 = 0x6f70_6572_616e_746d;

/// Whether the database answers `SELECT 1` within `timeout`.
pub async fn ping(pool: &PgPool, timeout: Duration) -> bool {
    let probe = async {
        let mut conn = pool.get().await.ok()?;
        diesel::sql_query("SELECT 1").execute(&mut conn).await.ok()
    };
    matches!(tokio::time::timeout(timeout, probe).await, Ok(Some(_)))
}

/// Serialises, until the end of the current transaction, every transaction that uses a quota
/// of one organization (`resource` names the quota, for example `members` or `projects`).
///
/// This is how plan limits stay exact under concurrency: inside one transaction, take the lock,
/// count what exists, compare with the limit, insert. A second transaction for the same
/// organization and resource waits at the lock until the first commits, and then counts the
/// first one's row. Different organizations never wait for each other. Call it only inside a
/// transaction (it is a `pg_advisory_xact_lock`).
pub async fn lock_quota(
    conn: &mut AsyncPgConnection,
    organization_id: uuid::Uuid,
    resource: &str,
) -> Result<(), diesel::result::Error> {
    use diesel::sql_types::Text;
    Prepared(
        diesel::sql_query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
            .bind::<Text, _>(format!("quota:{resource}:{organization_id}")),
    )
    .execute(conn)
    .await
    .map(|_| ())
}

/// A raw SQL statement (`diesel::sql_query(CONSTANT).bind(..)`) that is kept as a prepared
/// statement on its connection, like the statements diesel's DSL builds.
///
/// diesel never caches `sql_query` statements (their text could be built at run time), so
/// PostgreSQL parses and plans them on every call: for the refresh-token rotation (three
/// CTEs) that was a large share of the database's CPU per refresh. Wrap only statements whose
/// text is a constant: the cache is keyed by the SQL text (and bind types), so a statement whose
/// text varied would fill the cache.
pub struct Prepared<Q>(pub Q);

impl<Q: diesel::query_builder::Query> diesel::query_builder::Query for Prepared<Q> {
    type SqlType = Q::SqlType;
}

impl<Q> diesel::query_builder::QueryId for Prepared<Q> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Q: diesel::query_builder::QueryFragment<diesel::pg::Pg>>
    diesel::query_builder::QueryFragment<diesel::pg::Pg> for Prepared<Q>
{
    fn walk_ast<'b>(
        &'b self,
        pass: diesel::query_builder::AstPass<'_, 'b, diesel::pg::Pg>,
    ) -> diesel::QueryResult<()> {
        self.0.walk_ast(pass)
    }

    fn is_safe_to_cache_prepared(&self, _backend: &diesel::pg::Pg) -> diesel::QueryResult<bool> {
        Ok(true)
    }
}
