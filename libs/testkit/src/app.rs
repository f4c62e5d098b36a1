//! [`TestApp`]: the whole suite (auth, tenancy, work and the gateway) started in-process on
//! ephemeral ports against a fresh [`TestDb`], talking real gRPC and HTTP to each other, exactly
//! as `operant dev` runs it.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use operant_platform::config::Settings;
use operant_platform::shutdown::{Shutdown, ShutdownTrigger};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tonic::transport::{Channel, Endpoint};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

use crate::TestDb;

/// A running suite for one test. Dropping it stops the servers.
pub struct TestApp {
    pub db: TestDb,
    pub settings: Arc<Settings>,
    pub auth_addr: SocketAddr,
    pub tenancy_addr: SocketAddr,
    pub work_addr: SocketAddr,
    pub gateway_addr: SocketAddr,
    /// Admin (`/metrics`) addresses of auth, tenancy, work and the gateway.
    pub admin_addrs: [SocketAddr; 4],
    trigger: Option<ShutdownTrigger>,
    tasks: Vec<JoinHandle<anyhow::Result<()>>>,
}

async fn bind() -> TcpListener {
    TcpListener::bind("127.0.0.1:0").await.expect("bind an ephemeral port")
}

/// An address that was free a moment ago (for listeners a service binds itself).
async fn free_port() -> SocketAddr {
    bind().await.local_addr().expect("local addr")
}

impl TestApp {
    /// The suite with test settings (bcrypt cost 4).
    pub async fn spawn() -> Self {
        Self::spawn_with(|_| {}).await
    }

    /// The suite with settings changed by `configure` (called after the test defaults and the
    /// addresses are filled in).
    pub async fn spawn_with(configure: impl FnOnce(&mut Settings)) -> Self {
        crate::init_test_tracing();
        let db = TestDb::new().await;
        let (auth, tenancy, work, gateway) = (bind().await, bind().await, bind().await, bind().await);
        let addr = |l: &TcpListener| l.local_addr().expect("local addr");
        let (auth_addr, tenancy_addr, work_addr, gateway_addr) =
            (addr(&auth), addr(&tenancy), addr(&work), addr(&gateway));

        let mut settings = Settings::for_tests(db.url.clone());
        settings.listen.auth = auth_addr;
        settings.listen.tenancy = tenancy_addr;
        settings.listen.work = work_addr;
        settings.listen.gateway = gateway_addr;
        let admin_addrs = [free_port().await, free_port().await, free_port().await, free_port().await];
        settings.listen.auth_admin = admin_addrs[0];
        settings.listen.tenancy_admin = admin_addrs[1];
        settings.listen.work_admin = admin_addrs[2];
        settings.listen.gateway_admin = admin_addrs[3];
        settings.endpoints.auth = vec![format!("http://{auth_addr}")];
        settings.endpoints.tenancy = vec![format!("http://{tenancy_addr}")];
        settings.endpoints.work = vec![format!("http://{work_addr}")];
        configure(&mut settings);
        let settings = Arc::new(settings);

        let (trigger, shutdown) = Shutdown::new();
        let tasks = vec![
            tokio::spawn(operant_auth::run(settings.clone(), auth, shutdown.clone())),
            tokio::spawn(operant_tenancy::run(settings.clone(), tenancy, shutdown.clone())),
            tokio::spawn(operant_work::run(settings.clone(), work, shutdown.clone())),
            tokio::spawn(operant_gateway::run(settings.clone(), gateway, shutdown.clone())),
        ];
        let app = TestApp {
            db,
            settings,
            auth_addr,
            tenancy_addr,
            work_addr,
            gateway_addr,
            admin_addrs,
            trigger: Some(trigger),
            tasks,
        };
        for addr in [auth_addr, tenancy_addr, work_addr] {
            app.wait_serving(addr).await;
        }
        app
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
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(channel) =
                Endpoint::from_shared(Self::grpc_url(addr)).expect("endpoint").connect().await
            {
                let mut health = HealthClient::new(channel);
                if let Ok(r) = health.check(HealthCheckRequest { service: String::new() }).await
                    && r.into_inner().status == 1
                {
                    return;
                }
            }
            assert!(tokio::time::Instant::now() < deadline, "server at {addr} did not become SERVING");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Stops every server gracefully and reports a server that failed.
    pub async fn shutdown(mut self) {
        if let Some(trigger) = self.trigger.take() {
            trigger.trigger();
        }
        for task in std::mem::take(&mut self.tasks) {
            match tokio::time::timeout(Duration::from_secs(10), task).await {
                Ok(Ok(Ok(()))) => {}
                Ok(Ok(Err(e))) => panic!("a server failed: {e:#}"),
                Ok(Err(e)) => panic!("a server panicked: {e}"),
                Err(_) => panic!("a server did not stop within 10 s"),
            }
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(trigger) = self.trigger.take() {
            trigger.trigger();
        }
        for task in &self.tasks {
            task.abort();
        }
    }
}
