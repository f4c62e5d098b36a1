//! Every service serves Prometheus metrics on its admin port: request counts and latency
//! histograms by method and code, database pool usage, and (auth) the bcrypt queue depth.
#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;

use operant_proto::auth::v1::{GetCurrentUserRequest, LoginRequest};
use operant_testkit::TestApp;

async fn scrape(addr: SocketAddr) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(b"GET /metrics HTTP/1.0\r\nHost: x\r\n\r\n").await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    assert!(response.starts_with("HTTP/1.0 200") || response.starts_with("HTTP/1.1 200"), "{response}");
    response
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn services_expose_request_pool_and_bcrypt_metrics() {
    let app = TestApp::spawn().await;
    let mut c = app.clients();
    let email = "metrics@example.com".to_owned();
    c.register(&email).await;
    c.auth.login(LoginRequest { email, password: "wrong password!".into() }).await.unwrap_err();
    // An unauthenticated call is counted too, with its code.
    c.users.get_current_user(GetCurrentUserRequest {}).await.unwrap_err();

    let auth_metrics = scrape(app.admin_addrs[0]).await;
    for series in [
        r#"operant_grpc_requests_total{service="auth",method="/operant.auth.v1.AuthService/Register",code="OK"} 1"#,
        r#"operant_grpc_requests_total{service="auth",method="/operant.auth.v1.AuthService/Login",code="UNAUTHENTICATED"} 1"#,
        r#"operant_grpc_requests_total{service="auth",method="/operant.auth.v1.UserService/GetCurrentUser",code="UNAUTHENTICATED"} 1"#,
        r#"operant_grpc_request_duration_seconds_bucket{service="auth",le="+Inf",method="/operant.auth.v1.AuthService/Register",code="OK"} 1"#,
        r#"operant_db_pool_connections{service="auth",state="max"}"#,
        r#"operant_bcrypt_queue_depth{service="auth"} 0"#,
    ] {
        assert!(auth_metrics.contains(series), "missing {series} in\n{auth_metrics}");
    }
    for addr in &app.admin_addrs[1..3] {
        let text = scrape(*addr).await;
        assert!(text.contains("operant_db_pool_connections"), "{text}");
        assert!(text.contains("# TYPE operant_grpc_request_duration_seconds histogram"), "{text}");
    }
    app.shutdown().await;
}
