//! `operant dev --database-per-service`, the binary run from the outside: on its private
//! PostgreSQL each service gets a database of its own (operant_auth, operant_tenancy,
//! operant_work, operant_events, each with only its own tables), the services connect to theirs, and Ctrl-C
//! stops everything. (`operant dev` without the flag, one shared database, is `.ci/smoke`'s.)
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use operant_testkit::{free_port, sql};
use tokio::process::Command;

async fn tables(client: &tokio_postgres::Client) -> BTreeSet<String> {
    client
        .query(
            "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public' \
             AND table_name <> '__diesel_schema_migrations'",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

fn log_of(dir: &std::path::Path) -> String {
    std::fs::read_to_string(dir.join("operant.log")).unwrap_or_default()
}

/// Starts `operant dev --database-per-service` on ten fresh ports; the child and the gateway's.
async fn spawn_dev(dir: &std::path::Path) -> (tokio::process::Child, u16) {
    let mut ports = Vec::new();
    for _ in 0..10 {
        ports.push(free_port().await);
    }
    let [
        auth,
        tenancy,
        work,
        gateway,
        auth_admin,
        tenancy_admin,
        work_admin,
        gateway_admin,
        events,
        events_admin,
    ] = <[_; 10]>::try_from(ports).unwrap();
    let log = std::fs::File::create(dir.join("operant.log")).unwrap();
    let mut dev = Command::new(env!("CARGO_BIN_EXE_operant"));
    for var in [
        "OPERANT_DATABASE_URL",
        "OPERANT_AUTH_DATABASE_URL",
        "OPERANT_TENANCY_DATABASE_URL",
        "OPERANT_WORK_DATABASE_URL",
        "OPERANT_EVENTS_DATABASE_URL",
    ] {
        dev.env_remove(var);
    }
    let dev = dev
        .args(["dev", "--database-per-service"])
        .env("OPERANT_DATA_DIR", dir)
        .env("OPERANT_BCRYPT_COST", "4")
        .env("OPERANT_DB_POOL_SIZE", "4")
        .env("OPERANT_AUTH_LISTEN", auth.to_string())
        .env("OPERANT_TENANCY_LISTEN", tenancy.to_string())
        .env("OPERANT_WORK_LISTEN", work.to_string())
        .env("OPERANT_GATEWAY_LISTEN", gateway.to_string())
        .env("OPERANT_AUTH_ADMIN_LISTEN", auth_admin.to_string())
        .env("OPERANT_TENANCY_ADMIN_LISTEN", tenancy_admin.to_string())
        .env("OPERANT_WORK_ADMIN_LISTEN", work_admin.to_string())
        .env("OPERANT_GATEWAY_ADMIN_LISTEN", gateway_admin.to_string())
        .env("OPERANT_EVENTS_LISTEN", events.to_string())
        .env("OPERANT_EVENTS_ADMIN_LISTEN", events_admin.to_string())
        .env("OPERANT_EVENTS_URL", format!("http://{events}"))
        .env("OPERANT_AUTH_URL", format!("http://{auth}"))
        .env("OPERANT_TENANCY_URL", format!("http://{tenancy}"))
        .env("OPERANT_WORK_URL", format!("http://{work}"))
        .stdin(std::process::Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    (dev, gateway.port())
}

/// Waits for the gateway's `/health`; the log when the child exited first (or after 120 s).
async fn wait_healthy(
    http: &reqwest::Client,
    dev: &mut tokio::process::Child,
    gateway: u16,
    dir: &std::path::Path,
) -> Result<(), String> {
    let started = Instant::now();
    loop {
        if let Ok(r) = http.get(format!("http://127.0.0.1:{gateway}/health")).send().await
            && r.status() == 200
        {
            return Ok(());
        }
        if dev.try_wait().unwrap().is_some() {
            return Err(format!("operant dev exited:\n{}", log_of(dir)));
        }
        if started.elapsed() > Duration::from_secs(120) {
            return Err(format!("not healthy within 120 s:\n{}", log_of(dir)));
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dev_gives_each_service_its_own_database_on_the_private_postgres() {
    let dir = std::env::temp_dir().join(format!("operant-dev-dbs-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    // The private PostgreSQL runs as the postgres user when the test runs as root.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    // `operant dev` binds ten ports chosen a moment earlier with free_port(); another test
    // process may take one in between. Then the child exits with "Address already in use", and it
    // is started again on ten new ports (as TestApp does for the services it runs in-process).
    let http = reqwest::Client::new();
    let mut attempt = 0;
    let (mut dev, gateway) = loop {
        attempt += 1;
        let (mut dev, gateway) = spawn_dev(&dir).await;
        match wait_healthy(&http, &mut dev, gateway, &dir).await {
            Ok(()) => break (dev, gateway),
            Err(log) if attempt < 3 && log.contains("Address already in use") => {
                eprintln!("operant dev could not bind a port (attempt {attempt}); again on new ports");
            }
            Err(log) => panic!("operant dev did not become healthy:\n{log}"),
        }
    };
    let base = format!("http://127.0.0.1:{gateway}");
    let registered = http
        .post(format!("{base}/api/v1/auth/register"))
        .json(
            &serde_json::json!({"email": "dev-dbs@example.com", "password": "Demo123!x", "full_name": "Dev"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(registered.status(), 201, "{}", registered.text().await.unwrap());

    // The same private server (reused while it runs): three databases, each its service's.
    let pg = operant_devdb::PrivatePostgres::start(&dir.join("postgres")).await.unwrap();
    let server = sql::connect(&pg.url()).await;
    let active: BTreeSet<String> = server
        .query(
            "SELECT DISTINCT datname::text FROM pg_stat_activity WHERE datname LIKE 'operant%' \
             AND pid <> pg_backend_pid()",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    let expected: BTreeSet<String> = ["operant_auth", "operant_tenancy", "operant_work", "operant_events"]
        .into_iter()
        .map(String::from)
        .collect();
    assert_eq!(active, expected, "the services are connected to their own databases only");
    let auth_db = sql::connect(&pg.url_for("operant_auth")).await;
    let users: i64 = auth_db.query_one("SELECT count(*) FROM users", &[]).await.unwrap().get(0);
    assert_eq!(users, 1);
    let auth_tables = tables(&auth_db).await;
    let tenancy_tables = tables(&sql::connect(&pg.url_for("operant_tenancy")).await).await;
    let work_tables = tables(&sql::connect(&pg.url_for("operant_work")).await).await;
    assert!(auth_tables.contains("users") && !auth_tables.contains("tasks"), "{auth_tables:?}");
    assert!(
        tenancy_tables.contains("organizations") && !tenancy_tables.contains("users"),
        "{tenancy_tables:?}"
    );
    assert!(work_tables.contains("tasks") && !work_tables.contains("organizations"), "{work_tables:?}");
    drop((server, auth_db));

    // Ctrl-C: everything stops, the private PostgreSQL included.
    let pid = dev.id().unwrap().to_string();
    assert!(std::process::Command::new("kill").args(["-INT", &pid]).status().unwrap().success());
    let status = tokio::time::timeout(Duration::from_secs(30), dev.wait()).await.expect("stopped").unwrap();
    assert!(status.success(), "{status:?}\n{}", log_of(&dir));
    assert!(!dir.join("postgres/postmaster.pid").exists(), "the private PostgreSQL still runs");
    let _ = std::fs::remove_dir_all(&dir);
}
