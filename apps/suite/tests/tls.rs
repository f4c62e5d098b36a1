//! TLS switched on by configuration: with `OPERANT_TLS_CERT`/`OPERANT_TLS_KEY` every gRPC
//! listener serves TLS (rustls), and with `OPERANT_TLS_CA` every service client verifies the
//! servers it calls. Shown end to end: a client over TLS creates an organization at the tenancy
//! service, which verifies the caller's access token with keys it fetched from the auth service
//! over TLS, and the REST gateway answers over HTTPS, calling auth over TLS; plaintext is
//! refused everywhere.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use operant_platform::config::Settings;
use operant_platform::shutdown::Shutdown;
use operant_proto::auth::v1::auth_service_client::AuthServiceClient;
use operant_proto::auth::v1::{LoginRequest, RegisterRequest};
use operant_proto::tenancy::v1::CreateOrganizationRequest;
use operant_proto::tenancy::v1::organization_service_client::OrganizationServiceClient;
use operant_testkit::{PASSWORD, TestDb};
use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint};

/// A CA and a server certificate for `localhost` signed by it, as PEM files in `dir`.
fn certificates(dir: &std::path::Path) -> (std::path::PathBuf, std::path::PathBuf, std::path::PathBuf) {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);
    let server_key = KeyPair::generate().unwrap();
    let server = CertificateParams::new(vec!["localhost".to_owned()])
        .unwrap()
        .signed_by(&server_key, &issuer)
        .unwrap();
    let (ca_path, cert_path, key_path) = (dir.join("ca.pem"), dir.join("server.pem"), dir.join("server.key"));
    std::fs::write(&ca_path, ca.pem()).unwrap();
    std::fs::write(&cert_path, server.pem()).unwrap();
    std::fs::write(&key_path, server_key.serialize_pem()).unwrap();
    (ca_path, cert_path, key_path)
}

async fn tls_channel(port: u16, ca: &std::path::Path) -> Channel {
    let tls = ClientTlsConfig::new().ca_certificate(Certificate::from_pem(std::fs::read(ca).unwrap()));
    Endpoint::from_shared(format!("https://localhost:{port}"))
        .unwrap()
        .tls_config(tls)
        .unwrap()
        .connect_timeout(Duration::from_secs(5))
        .connect()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn services_talk_tls_when_configured() {
    let dir = std::env::temp_dir().join(format!("operant-tls-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let (ca, cert, key) = certificates(&dir);
    let db = TestDb::new().await;
    let auth = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let tenancy = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let gateway = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let gateway_port = gateway.local_addr().unwrap().port();
    let (auth_port, tenancy_port) = (auth.local_addr().unwrap().port(), tenancy.local_addr().unwrap().port());

    let mut settings = Settings::for_tests(db.url.clone());
    settings.tls.cert = Some(cert);
    settings.tls.key = Some(key);
    settings.tls.ca = Some(ca.clone());
    settings.endpoints.auth = vec![format!("https://localhost:{auth_port}")];
    settings.endpoints.tenancy = vec![format!("https://localhost:{tenancy_port}")];
    settings.endpoints.work = vec!["https://localhost:9".to_owned()];
    settings.endpoints.events = vec!["https://localhost:9".to_owned()];
    let mut auth_settings = settings.clone();
    auth_settings.listen.auth_admin = ([127, 0, 0, 1], 0).into();
    settings.listen.tenancy_admin = ([127, 0, 0, 1], 0).into();
    settings.listen.gateway_admin = ([127, 0, 0, 1], 0).into();
    let settings = Arc::new(settings);
    let (_trigger, shutdown) = Shutdown::new();
    tokio::spawn(operant_auth::run(Arc::new(auth_settings), auth, shutdown.clone()));
    tokio::spawn(operant_tenancy::run(settings.clone(), tenancy, shutdown.clone()));
    tokio::spawn(operant_gateway::run(settings, gateway, shutdown));

    let mut accounts = AuthServiceClient::new(tls_channel(auth_port, &ca).await);
    let credentials = ("tls@example.com".to_owned(), PASSWORD.to_owned());
    accounts
        .register(RegisterRequest {
            request_id: String::new(),
            email: credentials.0.clone(),
            password: credentials.1.clone(),
            full_name: None,
        })
        .await
        .unwrap();
    let tokens = accounts
        .login(LoginRequest { email: credentials.0, password: credentials.1 })
        .await
        .unwrap()
        .into_inner()
        .tokens
        .unwrap();

    // The tenancy service verifies the token with keys fetched from auth over TLS.
    let mut orgs = OrganizationServiceClient::new(tls_channel(tenancy_port, &ca).await);
    let mut request = tonic::Request::new(CreateOrganizationRequest {
        request_id: String::new(),
        name: "Secure".into(),
        slug: "secure".into(),
    });
    request
        .metadata_mut()
        .insert("authorization", format!("Bearer {}", tokens.access_token).parse().unwrap());
    let org = orgs.create_organization(request).await.unwrap().into_inner().organization.unwrap();
    assert_eq!(org.slug, "secure");

    // Plaintext is not served.
    let plain = Endpoint::from_shared(format!("http://127.0.0.1:{tenancy_port}")).unwrap().connect().await;
    if let Ok(channel) = plain {
        let mut client = OrganizationServiceClient::new(channel);
        let answer = client.create_organization(CreateOrganizationRequest::default()).await;
        assert!(answer.is_err(), "a plaintext call was answered");
    }

    // The REST gateway serves HTTPS and reaches the services over TLS.
    let https = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(&std::fs::read(&ca).unwrap()).unwrap())
        .build()
        .unwrap();
    let me = https
        .get(format!("https://localhost:{gateway_port}/api/v1/users/me"))
        .bearer_auth(&tokens.access_token)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);
    let me: serde_json::Value = me.json().await.unwrap();
    assert_eq!(me["email"], "tls@example.com");
    assert!(
        reqwest::get(format!("http://127.0.0.1:{gateway_port}/health")).await.is_err(),
        "plain HTTP answered"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
