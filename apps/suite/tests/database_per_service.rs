//! The suite on a database per service (`OPERANT_AUTH_DATABASE_URL`,
//! `OPERANT_TENANCY_DATABASE_URL`, `OPERANT_WORK_DATABASE_URL`, no shared URL), on real
//! PostgreSQL:
//! - each database is owned by a role of its own that alone may CONNECT to it (CONNECT revoked
//!   from PUBLIC, checked: the other roles are refused), each service's migrations are applied
//!   by its role to its database only, and the whole suite works across services on them
//!   (accounts, organizations, members, API keys, projects and tasks, a logout seen by work, an
//!   organization deletion purging work's rows);
//! - while it runs, `pg_stat_activity` shows every role connected and only to its own database:
//!   no service connects to another's database;
//! - each database holds only its service's tables, and the rows land where they belong.
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use operant_platform::config::ServiceDatabase;
use operant_platform::error::error_code_of;
use operant_proto::auth::v1::LogoutRequest;
use operant_proto::tenancy::v1::{DeleteOrganizationRequest, Role};
use operant_proto::work::v1::{CreateTaskRequest, ListProjectsRequest, ListTasksRequest};
use operant_testkit::{Actor, SERVICE_MIGRATIONS, TestApp, TestDb, as_user, in_org, sql, with_key};
use tokio_postgres::Client;

/// A role and a database owned by it, per service, on the test server; dropped at the end.
struct OwnDatabases {
    admin: Client,
    /// (service, role, database, URL as that role)
    each: Vec<(ServiceDatabase, String, String, String)>,
}

impl OwnDatabases {
    async fn create(server_url: &str) -> OwnDatabases {
        let admin = sql::connect(server_url).await;
        let (scheme_user, rest) = server_url.split_once('@').expect("server URL with a user");
        let scheme = &scheme_user[..scheme_user.find("://").unwrap() + 3];
        let host = rest.split('/').next().unwrap();
        let tag = uuid::Uuid::new_v4().simple().to_string()[..10].to_owned();
        let mut each = Vec::new();
        for svc in ServiceDatabase::ALL {
            let role = format!("op_{tag}_{}", svc.name());
            let password = uuid::Uuid::new_v4().simple().to_string();
            // One statement each: CREATE DATABASE refuses to run inside a transaction block.
            for statement in [
                format!("CREATE ROLE {role} LOGIN PASSWORD '{password}'"),
                format!("CREATE DATABASE {role} OWNER {role}"),
                format!("REVOKE CONNECT, TEMPORARY ON DATABASE {role} FROM PUBLIC"),
            ] {
                admin.batch_execute(&statement).await.unwrap();
            }
            let url = format!("{scheme}{role}:{password}@{host}/{role}");
            each.push((svc, role.clone(), role, url));
        }
        OwnDatabases { admin, each }
    }

    fn url(&self, svc: ServiceDatabase) -> &str {
        &self.each.iter().find(|e| e.0 == svc).unwrap().3
    }

    fn role(&self, svc: ServiceDatabase) -> &str {
        &self.each.iter().find(|e| e.0 == svc).unwrap().1
    }

    /// `url` of `svc`'s role with `other`'s database.
    fn cross_url(&self, svc: ServiceDatabase, other: ServiceDatabase) -> String {
        let url = self.url(svc);
        let base = &url[..url.rfind('/').unwrap()];
        format!("{base}/{}", self.each.iter().find(|e| e.0 == other).unwrap().2)
    }

    async fn drop_all(self) {
        for (_, role, database, _) in &self.each {
            let _ =
                self.admin.batch_execute(&format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)")).await;
            let _ = self.admin.batch_execute(&format!("DROP ROLE IF EXISTS {role}")).await;
        }
    }
}

/// Which databases each of `roles` is connected to right now.
async fn connections(admin: &Client, roles: &[&str]) -> BTreeMap<String, BTreeSet<String>> {
    let mut seen: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for row in admin
        .query(
            "SELECT usename::text, datname::text FROM pg_stat_activity WHERE usename = ANY($1)",
            &[&roles.iter().map(|r| r.to_string()).collect::<Vec<_>>()],
        )
        .await
        .unwrap()
    {
        seen.entry(row.get(0)).or_default().insert(row.get(1));
    }
    seen
}

async fn tables(client: &Client) -> BTreeSet<String> {
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

async fn count(client: &Client, query: &str) -> i64 {
    client.query_one(query, &[]).await.unwrap().get(0)
}

/// Everything across the services: accounts (auth), an organization with a member and an API
/// key (tenancy), projects and tasks made by a user and by the key (work, authorizing through
/// tenancy), a logout that work sees, and an organization deletion that purges work's rows.
/// Returns the id of the organization that remains.
async fn exercise(app: &TestApp) -> String {
    let c = app.clients();
    let owner = c.owner("owner").await;
    let member = c.member(&owner, "member", Role::Member).await;
    let project = c.project(&owner, "Launch").await;
    c.task(&member, &project, "by a member").await;
    let key = c.api_key(&owner.org.to_string(), &owner.user, Role::Member).await;
    let request =
        CreateTaskRequest { project_id: project.id.clone(), title: "by a key".into(), ..Default::default() };
    c.tasks.clone().create_task(with_key(request, &key)).await.expect("a task created with the API key");
    let listed = c
        .list_tasks(&owner, ListTasksRequest { project_id: Some(project.id.clone()), ..Default::default() })
        .await
        .unwrap();
    assert_eq!(listed.tasks.len(), 2);

    // Another organization, deleted: tenancy tells work to purge it.
    let doomed =
        c.org(&owner.user, &format!("doomed-{}", &uuid::Uuid::new_v4().simple().to_string()[..8])).await;
    let doomed_owner = Actor { user: owner.user.clone(), org: doomed.parse().unwrap() };
    c.project(&doomed_owner, "Doomed").await;
    c.orgs
        .clone()
        .delete_organization(as_user(
            DeleteOrganizationRequest { organization_id: doomed.clone() },
            &owner.user,
        ))
        .await
        .unwrap();

    // A logout at auth, seen by work.
    c.auth.clone().logout(as_user(LogoutRequest { refresh_token: None }, &member.user)).await.unwrap();
    let org = owner.org.to_string();
    let started = Instant::now();
    loop {
        let answer = c
            .projects
            .clone()
            .list_projects(in_org(ListProjectsRequest::default(), &member.user, &org))
            .await;
        match answer {
            Err(status) => {
                assert_eq!(error_code_of(&status).as_deref(), Some("TOKEN_REVOKED"), "{status:?}");
                break;
            }
            Ok(_) => assert!(started.elapsed() < Duration::from_secs(5), "work accepted a logged-out token"),
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    doomed
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn each_service_uses_only_its_own_database_owned_by_its_own_role() {
    let probe = TestDb::empty().await;
    let own = OwnDatabases::create(probe.server_url()).await;
    let sets = ServiceDatabase::ALL.into_iter().zip(SERVICE_MIGRATIONS);

    // Each role may connect to its own database only.
    for svc in ServiceDatabase::ALL {
        for other in ServiceDatabase::ALL.into_iter().filter(|o| *o != svc) {
            let refused = tokio_postgres::connect(&own.cross_url(svc, other), tokio_postgres::NoTls).await;
            let error =
                refused.err().unwrap_or_else(|| panic!("{svc:?}'s role connected to {other:?}'s database"));
            assert_eq!(
                error.code(),
                Some(&tokio_postgres::error::SqlState::INSUFFICIENT_PRIVILEGE),
                "{svc:?} → {other:?}: {error}"
            );
        }
    }
    // Each service's migrations, applied by its role to its database (as `operant migrate` does
    // with the three variables set).
    for (svc, set) in sets {
        operant_platform::db::run_migrations(own.url(svc), set).await.unwrap();
    }

    let app = TestApp::init().databases(ServiceDatabase::ALL.map(|svc| own.url(svc))).spawn().await;
    assert!(app.settings.database.url.is_none(), "no shared database is configured");
    let doomed = exercise(&app).await;

    // While the suite runs: every role connected, each only to its own database.
    let roles: Vec<&str> = ServiceDatabase::ALL.iter().map(|s| own.role(*s)).collect();
    let seen = connections(&own.admin, &roles).await;
    for svc in ServiceDatabase::ALL {
        let role = own.role(svc);
        let expected = BTreeSet::from([role.to_owned()]);
        assert_eq!(seen.get(role), Some(&expected), "{svc:?}'s connections: {seen:?}");
    }

    // The rows are where they belong, and each database holds only its service's tables.
    let auth = sql::connect(own.url(ServiceDatabase::Auth)).await;
    let tenancy = sql::connect(own.url(ServiceDatabase::Tenancy)).await;
    let work = sql::connect(own.url(ServiceDatabase::Work)).await;
    assert_eq!(count(&auth, "SELECT count(*) FROM users").await, 2);
    assert!(count(&auth, "SELECT count(*) FROM sessions WHERE revoked_at IS NOT NULL").await >= 1);
    assert_eq!(count(&tenancy, "SELECT count(*) FROM organizations").await, 1);
    assert_eq!(count(&tenancy, "SELECT count(*) FROM api_keys").await, 1);
    assert_eq!(count(&work, "SELECT count(*) FROM tasks").await, 2);
    let purged = work
        .query_one("SELECT count(*) FROM projects WHERE organization_id = $1::text::uuid", &[&doomed])
        .await
        .unwrap()
        .get::<_, i64>(0);
    assert_eq!(purged, 0, "the deleted organization's projects were purged from work's database");
    let (a, t, w) = (tables(&auth).await, tables(&tenancy).await, tables(&work).await);
    assert!(a.contains("users") && !a.contains("organizations") && !a.contains("tasks"), "{a:?}");
    assert!(t.contains("organizations") && !t.contains("users") && !t.contains("tasks"), "{t:?}");
    assert!(w.contains("tasks") && !w.contains("users") && !w.contains("organizations"), "{w:?}");
    assert!(a.is_disjoint(&t) && a.is_disjoint(&w) && t.is_disjoint(&w));

    app.shutdown().await;
    drop((auth, tenancy, work));
    own.drop_all().await;
}

// The test kit's own mode: a fresh database per service from per-service templates.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_testkit_runs_the_suite_on_a_database_per_service() {
    let app = TestApp::init().database_per_service().spawn().await;
    let urls: BTreeSet<&str> = ServiceDatabase::ALL.iter().map(|s| app.database_url_of(*s)).collect();
    assert_eq!(urls.len(), ServiceDatabase::ALL.len(), "a database each: {urls:?}");
    exercise(&app).await;
    let auth = app.sql_of(ServiceDatabase::Auth).await;
    let work = app.sql_of(ServiceDatabase::Work).await;
    assert_eq!(count(&auth, "SELECT count(*) FROM users").await, 2);
    assert_eq!(count(&work, "SELECT count(*) FROM tasks").await, 2);
    assert!(!tables(&work).await.contains("users"));
    assert!(!tables(&auth).await.contains("tasks"));
    app.shutdown().await;
}
