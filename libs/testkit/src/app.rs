//! [`TestApp`]: the suite (auth, tenancy, work, events and the gateway) started in-process on ephemeral
//! ports, talking real gRPC and HTTP to each other exactly as `operant dev` runs it, built with
//! [`TestApp::init`]:
//!
//! ```ignore
//! let app = TestApp::init().with_settings(|s| s.max_body_bytes = 1024).spawn().await;
//! let (app, alice) = TestApp::init().with_user("alice").await;
//! let mut app = TestApp::init().database(&url).without(Svc::Work).spawn().await;
//! let app = TestApp::init().database_per_service().spawn().await; // three databases
//! app.stop(Svc::Tenancy).await;
//! app.start(Svc::Tenancy).await;
//! ```
//!
//! Each service runs under its own shutdown trigger, so a fault test can stop and restart one of
//! them (on the same address) while the others keep serving.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use operant_platform::config::{ServiceDatabase, Settings};
use operant_platform::shutdown::{Shutdown, ShutdownTrigger};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tonic::transport::{Channel, Endpoint};

use crate::clients::Clients;
use crate::health::{SERVING, wait_health};
use crate::mailbox::Mailbox;
use crate::rest::Api;
use crate::users::User;
use crate::{TestDb, sql};

/// One service of the suite.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Svc {
    Auth,
    Tenancy,
    Work,
    Gateway,
    Events,
}

impl Svc {
    pub const ALL: [Svc; 5] = [Svc::Auth, Svc::Tenancy, Svc::Work, Svc::Gateway, Svc::Events];
}

type Configure<'a> = Box<dyn FnOnce(&mut Settings) + 'a>;

/// Builds a [`TestApp`]: which database, which settings, which services run in this process.
#[must_use]
pub struct TestAppBuilder<'a> {
    configure: Vec<Configure<'a>>,
    databases: Databases,
    services: Vec<Svc>,
}

/// Where the services' data lives.
enum Databases {
    /// A fresh [`TestDb`] shared by every service.
    Fresh,
    /// A fresh database per service, each with only its own migrations ([`TestDb::for_service`]).
    FreshPerService,
    /// One existing, migrated database.
    Shared(String),
    /// An existing, migrated database per service: auth's, tenancy's, work's, events'.
    PerService([String; 4]),
}

impl<'a> TestAppBuilder<'a> {
    /// Changes the settings (called after the test defaults and the addresses are filled in).
    pub fn with_settings(mut self, configure: impl FnOnce(&mut Settings) + 'a) -> Self {
        self.configure.push(Box::new(configure));
        self
    }

    /// Uses an existing, migrated database (e.g. on a PostgreSQL the test stops) instead of a
    /// fresh [`TestDb`].
    pub fn database(mut self, url: &str) -> Self {
        self.databases = Databases::Shared(url.to_owned());
        self
    }

    /// Gives each service a fresh database of its own holding only its own migrations
    /// (`OPERANT_AUTH_DATABASE_URL`, ... set, no shared `OPERANT_DATABASE_URL`).
    pub fn database_per_service(mut self) -> Self {
        self.databases = Databases::FreshPerService;
        self
    }

    /// Uses existing, migrated databases, one per service (auth's, tenancy's, work's, events'
    /// URL); no shared `OPERANT_DATABASE_URL` is set.
    pub fn databases(mut self, [auth, tenancy, work, events]: [&str; 4]) -> Self {
        self.databases = Databases::PerService([auth, tenancy, work, events].map(str::to_owned));
        self
    }

    /// Does not run `svc` here: its address is reserved and configured, so the test can run it
    /// elsewhere (e.g. as a process it kills) or later with [`TestApp::start`].
    pub fn without(mut self, svc: Svc) -> Self {
        self.services.retain(|s| *s != svc);
        self
    }

    /// Starts the services and waits until the gRPC ones are SERVING.
    pub async fn spawn(self) -> TestApp {
        crate::init_test_tracing();
        let (dbs, shared, own) = match self.databases {
            Databases::Shared(url) => (Vec::new(), Some(url), None),
            Databases::Fresh => {
                let db = TestDb::new().await;
                let url = db.url.clone();
                (vec![db], Some(url), None)
            }
            Databases::PerService(urls) => (Vec::new(), None, Some(urls)),
            Databases::FreshPerService => {
                let mut dbs = Vec::new();
                for set in crate::SERVICE_MIGRATIONS {
                    dbs.push(TestDb::for_service(set).await);
                }
                let urls = [dbs[0].url.clone(), dbs[1].url.clone(), dbs[2].url.clone(), dbs[3].url.clone()];
                (dbs, None, Some(urls))
            }
        };
        let listeners = [bind().await, bind().await, bind().await, bind().await, bind().await];
        let addr = |l: &TcpListener| l.local_addr().expect("local addr");
        let [auth_addr, tenancy_addr, work_addr, gateway_addr, events_addr] = listeners.each_ref().map(addr);

        let mut settings = Settings::for_tests(String::new());
        settings.database.url = shared.clone();
        if let Some(urls) = &own {
            for (svc, url) in ServiceDatabase::ALL.into_iter().zip(urls) {
                settings.database.set_url_of(svc, Some(url.clone()));
            }
        }
        // The database tests look at with `sql()`: the shared one, else auth's.
        let database_url = shared.or_else(|| own.map(|[auth, _, _, _]| auth)).unwrap_or_default();
        settings.listen.auth = auth_addr;
        settings.listen.tenancy = tenancy_addr;
        settings.listen.work = work_addr;
        settings.listen.gateway = gateway_addr;
        settings.listen.events = events_addr;
        let admin_addrs =
            [free_port().await, free_port().await, free_port().await, free_port().await, free_port().await];
        settings.listen.auth_admin = admin_addrs[0];
        settings.listen.tenancy_admin = admin_addrs[1];
        settings.listen.work_admin = admin_addrs[2];
        settings.listen.gateway_admin = admin_addrs[3];
        settings.listen.events_admin = admin_addrs[4];
        settings.endpoints.auth = vec![format!("http://{auth_addr}")];
        settings.endpoints.tenancy = vec![format!("http://{tenancy_addr}")];
        settings.endpoints.work = vec![format!("http://{work_addr}")];
        settings.endpoints.events = vec![format!("http://{events_addr}")];
        for configure in self.configure {
            configure(&mut settings);
        }
        let settings = Arc::new(settings);
        let mailbox = Mailbox::default();
        let clients = Clients::lazy(
            auth_addr,
            tenancy_addr,
            work_addr,
            events_addr,
            &settings.service_token,
            mailbox.clone(),
        );

        let mut app = TestApp {
            database_url,
            settings,
            auth_addr,
            tenancy_addr,
            work_addr,
            gateway_addr,
            events_addr,
            admin_addrs,
            clients,
            mailbox,
            dbs,
            running: Vec::new(),
        };
        // Listeners of services not run here are dropped: their port is free for the test.
        for (svc, listener) in Svc::ALL.into_iter().zip(listeners) {
            if self.services.contains(&svc) {
                app.run(svc, listener);
            }
        }
        for svc in [Svc::Auth, Svc::Tenancy, Svc::Work, Svc::Events] {
            if !self.services.contains(&svc) {
                continue;
            }
            let mut attempts = 1;
            while let Err(error) = app.wait_started(svc).await {
                // The admin port was picked free, but something took it before the service bound
                // it: pick another (a few times), any other failure is the test's.
                assert!(attempts < 4 && error.contains("admin address"), "{svc:?} did not start: {error}");
                attempts += 1;
                let mut settings = (*app.settings).clone();
                let slot = admin_slot(&mut settings.listen, svc);
                *slot = free_port().await;
                app.admin_addrs[Svc::ALL.iter().position(|s| *s == svc).unwrap_or(0)] = *slot;
                app.settings = Arc::new(settings);
                let addr = app.addr(svc);
                let listener = TcpListener::bind(addr).await.unwrap_or_else(|e| panic!("rebind {addr}: {e}"));
                app.run(svc, listener);
            }
        }
        app
    }

    /// The suite and one registered, logged-in user.
    pub async fn with_user(self, tag: &str) -> (TestApp, User) {
        let app = self.spawn().await;
        let user = app.clients().user(tag).await;
        (app, user)
    }
}

struct Running {
    svc: Svc,
    trigger: ShutdownTrigger,
    task: JoinHandle<anyhow::Result<()>>,
}

/// A running suite for one test. Dropping it stops the servers.
pub struct TestApp {
    /// The database the services use (the fresh [`TestDb`]'s unless [`TestAppBuilder::database`]);
    /// with a database per service, auth's (see [`TestApp::database_url_of`]).
    pub database_url: String,
    pub settings: Arc<Settings>,
    pub auth_addr: SocketAddr,
    pub tenancy_addr: SocketAddr,
    pub work_addr: SocketAddr,
    pub gateway_addr: SocketAddr,
    pub events_addr: SocketAddr,
    /// Admin (`/metrics`) addresses of auth, tenancy, work, the gateway and events.
    pub admin_addrs: [SocketAddr; 5],
    clients: Clients,
    /// What tenancy delivered (its transport records each mail here first).
    mailbox: Mailbox,
    /// Kept so the databases live as long as the suite.
    dbs: Vec<TestDb>,
    running: Vec<Running>,
}

async fn bind() -> TcpListener {
    TcpListener::bind("127.0.0.1:0").await.expect("bind an ephemeral port")
}

/// Where the admin (metrics) address of `svc` is set.
fn admin_slot(listen: &mut operant_platform::config::ListenConfig, svc: Svc) -> &mut SocketAddr {
    match svc {
        Svc::Auth => &mut listen.auth_admin,
        Svc::Tenancy => &mut listen.tenancy_admin,
        Svc::Work => &mut listen.work_admin,
        Svc::Gateway => &mut listen.gateway_admin,
        Svc::Events => &mut listen.events_admin,
    }
}

/// The ports [`free_port`] picks from: below the ephemeral range (32768–60999 on these
/// machines), above every default port of the suite.
const PICKED_PORTS: std::ops::Range<u16> = 20_000..32_000;

/// An address that was free a moment ago (for listeners a service binds itself, such as a child
/// process's). Picked at random below the ephemeral range and checked by binding it: a port
/// released there cannot be taken in the meantime by an outgoing connection or a `bind(0)` of
/// another test (both draw from the ephemeral range, and did take such ports under load), only
/// by another `free_port`, which the random pick makes unlikely.
///
/// A port is never handed out twice by one test process (the random pick alone gave two
/// listeners of one `operant dev` the same port about once in 300 runs).
pub async fn free_port() -> SocketAddr {
    static HANDED_OUT: std::sync::Mutex<BTreeSet<u16>> = std::sync::Mutex::new(BTreeSet::new());
    for _ in 0..100 {
        let span = u128::from(PICKED_PORTS.end - PICKED_PORTS.start);
        let offset = u16::try_from(uuid::Uuid::new_v4().as_u128() % span).unwrap_or(0);
        let port = PICKED_PORTS.start + offset;
        if HANDED_OUT.lock().unwrap_or_else(std::sync::PoisonError::into_inner).contains(&port) {
            continue;
        }
        if let Ok(listener) = TcpListener::bind(("127.0.0.1", port)).await {
            let addr = listener.local_addr().expect("local addr");
            if HANDED_OUT.lock().unwrap_or_else(std::sync::PoisonError::into_inner).insert(port) {
                return addr;
            }
        }
    }
    bind().await.local_addr().expect("local addr")
}

impl TestApp {
    /// A builder: every service, a fresh database, test settings (bcrypt cost 4).
    pub fn init<'a>() -> TestAppBuilder<'a> {
        TestAppBuilder { configure: Vec::new(), databases: Databases::Fresh, services: Svc::ALL.to_vec() }
    }

    /// The whole suite with test settings.
    pub async fn spawn() -> Self {
        Self::init().spawn().await
    }

    /// The whole suite with settings changed by `configure`.
    pub async fn spawn_with(configure: impl FnOnce(&mut Settings)) -> Self {
        Self::init().with_settings(configure).spawn().await
    }

    /// The test's own database, when the suite made one shared database.
    pub fn db(&self) -> Option<&TestDb> {
        if self.dbs.len() == 1 { self.dbs.first() } else { None }
    }

    /// The database of `svc` (its own, or the shared one).
    pub fn database_url_of(&self, svc: ServiceDatabase) -> &str {
        self.settings.database.url_of(svc).unwrap_or_default()
    }

    /// A direct SQL connection to the database of `svc`.
    pub async fn sql_of(&self, svc: ServiceDatabase) -> tokio_postgres::Client {
        sql::connect(self.database_url_of(svc)).await
    }

    /// Waits (at most 10 s, then panics) until tenancy's and work's event outboxes are empty:
    /// every event of the changes made so far is then in the feed, since a relay deletes its
    /// rows only once `IngestEvents` has accepted them. Tests of the feed call it after their
    /// setup (organizations, members) so its events do not mix with their own.
    pub async fn events_relayed(&self) {
        let outboxes = [
            (ServiceDatabase::Tenancy, "tenancy_event_outbox"),
            (ServiceDatabase::Work, "work_event_outbox"),
        ];
        for (svc, table) in outboxes {
            let sql = self.sql_of(svc).await;
            let query = format!("SELECT count(*) FROM {table}");
            let empty = crate::eventually(Duration::from_secs(10), || async {
                sql.query_one(&query, &[]).await.map(|row| row.get::<_, i64>(0) == 0).unwrap_or(false)
            })
            .await;
            assert!(empty, "{table} was not relayed within 10 s");
        }
    }

    /// Typed gRPC clients of every service (cheap clones of lazy channels: a stopped service
    /// is reconnected to once it is back).
    pub fn clients(&self) -> Clients {
        self.clients.clone()
    }

    /// The mail tenancy delivered (invitations), in order.
    pub fn mailbox(&self) -> Mailbox {
        self.mailbox.clone()
    }

    /// The REST client of the gateway.
    pub fn api(&self) -> Api {
        Api::new(self.gateway_url()).with_mailbox(self.mailbox.clone())
    }

    /// A direct SQL connection to the suite's database.
    pub async fn sql(&self) -> tokio_postgres::Client {
        sql::connect(&self.database_url).await
    }

    /// The gRPC (or HTTP, for the gateway) address of `svc`.
    pub fn addr(&self, svc: Svc) -> SocketAddr {
        match svc {
            Svc::Auth => self.auth_addr,
            Svc::Tenancy => self.tenancy_addr,
            Svc::Work => self.work_addr,
            Svc::Gateway => self.gateway_addr,
            Svc::Events => self.events_addr,
        }
    }

    /// `http://127.0.0.1:<port>` of the gateway.
    pub fn gateway_url(&self) -> String {
        format!("http://{}", self.gateway_addr)
    }

    /// `http://127.0.0.1:<port>` of a gRPC server.
    pub fn grpc_url(addr: SocketAddr) -> String {
        format!("http://{addr}")
    }

    /// A connected channel to a gRPC server of the suite.
    pub async fn channel(&self, addr: SocketAddr) -> Channel {
        Endpoint::from_shared(Self::grpc_url(addr))
            .expect("endpoint")
            .connect_timeout(Duration::from_secs(5))
            .connect()
            .await
            .expect("connect to a test server")
    }

    /// Waits until a server's grpc.health.v1 says SERVING (database reachable).
    pub async fn wait_serving(&self, addr: SocketAddr) {
        wait_health(addr, SERVING, Duration::from_secs(20)).await;
    }

    /// Waits until `svc` (a gRPC service) is SERVING; when its server ended first, returns how.
    ///
    /// # Panics
    /// When it is neither SERVING nor ended within 20 s.
    async fn wait_started(&mut self, svc: Svc) -> Result<(), String> {
        let addr = self.addr(svc);
        let started = tokio::time::Instant::now();
        loop {
            if crate::health::health(addr).await == Some(SERVING) {
                return Ok(());
            }
            if let Some(at) = self.running.iter().position(|r| r.svc == svc && r.task.is_finished()) {
                let ended = self.running.remove(at);
                return Err(match ended.task.await {
                    Ok(Ok(())) => "its server stopped".to_owned(),
                    Ok(Err(e)) => format!("{e:#}"),
                    Err(e) => format!("it panicked: {e}"),
                });
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "{addr}: {svc:?} was not SERVING within 20 s"
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    fn run(&mut self, svc: Svc, listener: TcpListener) {
        let (trigger, shutdown) = Shutdown::new();
        let s = self.settings.clone();
        let task = match svc {
            Svc::Auth => tokio::spawn(operant_auth::run(s, listener, shutdown)),
            Svc::Tenancy => {
                let deliver = operant_mail::deliver_for(&s).expect("the mail settings");
                let deliver = self.mailbox.recording(deliver);
                tokio::spawn(operant_tenancy::run_with_mail(s, listener, shutdown, deliver))
            }
            Svc::Work => tokio::spawn(operant_work::run(s, listener, shutdown)),
            Svc::Gateway => tokio::spawn(operant_gateway::run(s, listener, shutdown)),
            Svc::Events => tokio::spawn(operant_events::run(s, listener, shutdown)),
        };
        self.running.push(Running { svc, trigger, task });
    }

    /// Stops `svc` gracefully and waits until it has stopped (its port is then free).
    ///
    /// # Panics
    /// When `svc` is not running here, failed, or does not stop within 15 s.
    pub async fn stop(&mut self, svc: Svc) {
        let at = self.running.iter().position(|r| r.svc == svc);
        let running = self.running.remove(at.unwrap_or_else(|| panic!("{svc:?} is not running")));
        running.trigger.trigger();
        finish(running).await;
    }

    /// Starts `svc` again on its address and, for a gRPC service, waits until it is SERVING.
    pub async fn start(&mut self, svc: Svc) {
        assert!(!self.running.iter().any(|r| r.svc == svc), "{svc:?} is already running");
        let addr = self.addr(svc);
        let listener = TcpListener::bind(addr).await.unwrap_or_else(|e| panic!("rebind {addr}: {e}"));
        self.run(svc, listener);
        if svc != Svc::Gateway {
            self.wait_serving(addr).await;
        }
    }

    /// [`TestApp::stop`] then [`TestApp::start`].
    pub async fn restart(&mut self, svc: Svc) {
        self.stop(svc).await;
        self.start(svc).await;
    }

    /// Stops every server gracefully and reports a server that failed.
    pub async fn shutdown(mut self) {
        for r in &self.running {
            r.trigger.trigger();
        }
        for r in std::mem::take(&mut self.running) {
            finish(r).await;
        }
    }
}

async fn finish(r: Running) {
    match tokio::time::timeout(Duration::from_secs(15), r.task).await {
        Ok(Ok(Ok(()))) => {}
        Ok(Ok(Err(e))) => panic!("{:?} failed: {e:#}", r.svc),
        Ok(Err(e)) => panic!("{:?} panicked: {e}", r.svc),
        Err(_) => panic!("{:?} did not stop within 15 s", r.svc),
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        for r in &self.running {
            r.trigger.trigger();
            r.task.abort();
        }
    }
}
