//! Extra auth servers next to a [`TestApp`] (replicas on the same database, each with its own
//! mailer), extra tenancy servers, and [`CapturingMailer`], which keeps the mail a test waits for.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::BoxFuture;
use operant_auth::{Email, Mailer};
use operant_platform::config::Settings;
use operant_platform::shutdown::{Shutdown, ShutdownTrigger};

use crate::TestApp;

/// A mailer that keeps every message.
#[derive(Default, Clone)]
pub struct CapturingMailer {
    pub sent: Arc<Mutex<Vec<Email>>>,
}

impl CapturingMailer {
    pub fn messages(&self) -> Vec<Email> {
        self.sent.lock().expect("mailer lock").clone()
    }

    /// Waits (≤ 5 s) for the `n`-th message (1-based).
    pub async fn wait_for(&self, n: usize) -> Email {
        for _ in 0..250 {
            if let Some(m) = self.messages().get(n - 1) {
                return m.clone();
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("no email number {n} was sent");
    }
}

impl Mailer for CapturingMailer {
    fn send(&self, message: Email) -> BoxFuture<'_, anyhow::Result<()>> {
        self.sent.lock().expect("mailer lock").push(message);
        Box::pin(async { Ok(()) })
    }
}

/// A second auth server (replica) on the suite's database. Stops when dropped.
pub struct Replica {
    pub addr: SocketAddr,
    _trigger: ShutdownTrigger,
}

impl TestApp {
    /// An auth replica with the suite's settings and its own mailer.
    pub async fn spawn_auth_replica(&self, mailer: Arc<dyn Mailer>) -> Replica {
        self.spawn_auth_replica_with(self.settings.as_ref().clone(), mailer).await
    }

    /// An auth replica with other settings.
    pub async fn spawn_auth_replica_with(&self, mut settings: Settings, mailer: Arc<dyn Mailer>) -> Replica {
        // Its own metrics port: the first auth server holds the one in the settings.
        settings.listen.auth_admin = ([127, 0, 0, 1], 0).into();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local addr");
        let (trigger, shutdown) = Shutdown::new();
        tokio::spawn(operant_auth::run_with_mailer(Arc::new(settings), listener, shutdown, mailer));
        self.wait_serving(addr).await;
        Replica { addr, _trigger: trigger }
    }
}

impl TestApp {
    /// A second tenancy server on the suite's database, with the suite's settings (its
    /// invitation mail recorded in [`TestApp::mailbox`] too); not among the endpoints the other
    /// services call, so a change made through it reaches them only through PostgreSQL. Stops when
    /// dropped.
    pub async fn spawn_tenancy_replica(&self) -> Replica {
        let mut settings = self.settings.as_ref().clone();
        settings.listen.tenancy_admin = ([127, 0, 0, 1], 0).into();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local addr");
        settings.listen.tenancy = addr;
        let (trigger, shutdown) = Shutdown::new();
        let deliver = operant_mail::deliver_for(&settings).expect("the mail settings");
        let deliver = self.mailbox().recording(deliver);
        tokio::spawn(operant_tenancy::run_with_mail(Arc::new(settings), listener, shutdown, deliver));
        self.wait_serving(addr).await;
        Replica { addr, _trigger: trigger }
    }
}

impl TestApp {
    /// A second work server on the suite's database, calling tenancy at `tenancy` (for example
    /// a [`crate::proxy::HoldingProxy`] in front of [`TestApp::tenancy_addr`]). Stops when
    /// dropped.
    pub async fn spawn_work_replica(&self, tenancy: String) -> Replica {
        let mut settings = self.settings.as_ref().clone();
        settings.listen.work_admin = ([127, 0, 0, 1], 0).into();
        settings.endpoints.tenancy = vec![tenancy];
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local addr");
        settings.listen.work = addr;
        let (trigger, shutdown) = Shutdown::new();
        tokio::spawn(operant_work::run(Arc::new(settings), listener, shutdown));
        self.wait_serving(addr).await;
        Replica { addr, _trigger: trigger }
    }
}
