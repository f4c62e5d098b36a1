//! Helpers shared by the auth tests: gRPC clients for a [`TestApp`], bearer requests, error
//! codes, direct database access and an extra auth replica with a capturing mailer.
#![allow(dead_code, clippy::unwrap_used)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::BoxFuture;
use operant_auth::{Email, Mailer};
use operant_platform::clients::ServiceCredentials;
use operant_platform::config::Settings;
use operant_platform::error::error_code_of;
use operant_platform::headers::SERVICE_TOKEN_HEADER;
use operant_platform::shutdown::{Shutdown, ShutdownTrigger};
use operant_proto::auth::v1 as pb;
use operant_proto::auth::v1::auth_internal_service_client::AuthInternalServiceClient;
use operant_proto::auth::v1::auth_service_client::AuthServiceClient;
use operant_proto::auth::v1::user_service_client::UserServiceClient;
use operant_testkit::TestApp;
use tonic::Request;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

pub const PASSWORD: &str = "correct horse battery";

pub type Internal = AuthInternalServiceClient<InterceptedService<Channel, ServiceCredentials>>;

pub struct Clients {
    pub auth: AuthServiceClient<Channel>,
    pub users: UserServiceClient<Channel>,
    pub internal: Internal,
}

pub async fn clients_at(addr: SocketAddr, service_token: &str) -> Clients {
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect_timeout(Duration::from_secs(5))
        .connect()
        .await
        .unwrap();
    Clients {
        auth: AuthServiceClient::new(channel.clone()),
        users: UserServiceClient::new(channel.clone()),
        internal: AuthInternalServiceClient::with_interceptor(
            channel,
            ServiceCredentials::new(service_token).unwrap(),
        ),
    }
}

pub async fn clients(app: &TestApp) -> Clients {
    clients_at(app.auth_addr, &app.settings.service_token).await
}

pub fn bearer<T>(message: T, token: &str) -> Request<T> {
    let mut request = Request::new(message);
    request.metadata_mut().insert("authorization", format!("Bearer {token}").parse().unwrap());
    request
}

pub fn with_service_token<T>(message: T, token: &str) -> Request<T> {
    let mut request = Request::new(message);
    request.metadata_mut().insert(SERVICE_TOKEN_HEADER, token.parse().unwrap());
    request
}

/// The Operant error code of a failed call.
pub fn code<T: std::fmt::Debug>(result: Result<T, tonic::Status>) -> String {
    match result {
        Ok(v) => panic!("expected an error, got {v:?}"),
        Err(status) => error_code_of(&status).unwrap_or_else(|| format!("<no code: {status:?}>")),
    }
}

pub fn unique_email(tag: &str) -> String {
    format!("{tag}-{}@example.com", uuid::Uuid::new_v4().simple())
}

pub async fn register(c: &mut Clients, email: &str) -> pb::User {
    c.auth
        .register(pb::RegisterRequest {
            email: email.to_owned(),
            password: PASSWORD.to_owned(),
            full_name: Some("Test User".to_owned()),
        })
        .await
        .unwrap()
        .into_inner()
        .user
        .unwrap()
}

pub async fn login(c: &mut Clients, email: &str) -> pb::TokenPair {
    c.auth
        .login(pb::LoginRequest { email: email.to_owned(), password: PASSWORD.to_owned() })
        .await
        .unwrap()
        .into_inner()
        .tokens
        .unwrap()
}

/// A registered user and a logged-in token pair.
pub async fn user_with_tokens(c: &mut Clients, tag: &str) -> (pb::User, pb::TokenPair) {
    let email = unique_email(tag);
    let user = register(c, &email).await;
    let tokens = login(c, &email).await;
    (user, tokens)
}

pub async fn me(c: &mut Clients, access: &str) -> Result<pb::User, tonic::Status> {
    c.users
        .get_current_user(bearer(pb::GetCurrentUserRequest {}, access))
        .await
        .map(|r| r.into_inner().user.unwrap())
}

pub async fn refresh(c: &mut Clients, token: &str) -> Result<pb::TokenPair, tonic::Status> {
    c.auth
        .refresh_token(pb::RefreshTokenRequest { refresh_token: token.to_owned() })
        .await
        .map(|r| r.into_inner().tokens.unwrap())
}

/// A direct connection to the test database.
pub async fn db(app: &TestApp) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(&app.db.url, tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(connection);
    client
}

/// Polls `check` until it is true or `within` has passed; returns whether it became true.
pub async fn eventually<F, Fut>(within: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if check().await {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A mailer that keeps every message.
#[derive(Default, Clone)]
pub struct CapturingMailer {
    pub sent: Arc<Mutex<Vec<Email>>>,
}

impl CapturingMailer {
    pub fn messages(&self) -> Vec<Email> {
        self.sent.lock().unwrap().clone()
    }

    /// Waits for the `n`-th message (1-based).
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
        self.sent.lock().unwrap().push(message);
        Box::pin(async { Ok(()) })
    }
}

/// A second auth server (replica) on the test database, with its own mailer.
pub struct Replica {
    pub addr: SocketAddr,
    _trigger: ShutdownTrigger,
}

pub async fn spawn_replica(app: &TestApp, mailer: Arc<dyn Mailer>) -> Replica {
    spawn_replica_with(app.settings.as_ref().clone(), mailer, app).await
}

pub async fn spawn_replica_with(mut settings: Settings, mailer: Arc<dyn Mailer>, app: &TestApp) -> Replica {
    // Its own metrics port: the first auth server holds the one in the settings.
    settings.listen.auth_admin = ([127, 0, 0, 1], 0).into();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (trigger, shutdown) = Shutdown::new();
    tokio::spawn(operant_auth::run_with_mailer(Arc::new(settings), listener, shutdown, mailer));
    app.wait_serving(addr).await;
    Replica { addr, _trigger: trigger }
}
