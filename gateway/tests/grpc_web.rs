//! A browser speaking grpc-web over HTTP/1.1 to a service port: the CORS preflight passes and
//! the call succeeds, with the gRPC status headers (including `grpc-status-details-bin`, where
//! rich errors travel) exposed to scripts.

use operant_testkit::TestApp;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_web_health_check_with_cors_preflight() {
    let app = TestApp::spawn().await;
    let url = format!("http://{}/grpc.health.v1.Health/Check", app.auth_addr);
    let origin = "http://localhost:3000";
    let client = reqwest::Client::builder().http1_only().build().expect("client");

    let preflight = client
        .request(reqwest::Method::OPTIONS, &url)
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type,x-grpc-web,x-user-agent,authorization")
        .send()
        .await
        .expect("preflight");
    assert!(preflight.status().is_success(), "preflight status {}", preflight.status());
    let allow_origin = preflight.headers().get("access-control-allow-origin").expect("allow-origin");
    assert!(allow_origin == "*" || allow_origin == origin, "{allow_origin:?}");
    let allowed = preflight
        .headers()
        .get("access-control-allow-headers")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    for header in ["content-type", "x-grpc-web", "authorization"] {
        assert!(allowed.contains(header) || allowed == "*", "{header} not allowed: {allowed}");
    }

    // An empty HealthCheckRequest: flag 0, length 0.
    let response = client
        .post(&url)
        .header("origin", origin)
        .header("content-type", "application/grpc-web+proto")
        .header("x-grpc-web", "1")
        .body(vec![0u8, 0, 0, 0, 0])
        .send()
        .await
        .expect("grpc-web call");
    assert_eq!(response.status(), 200);
    assert_eq!(response.version(), reqwest::Version::HTTP_11);
    let exposed = response
        .headers()
        .get("access-control-expose-headers")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    for header in ["grpc-status", "grpc-message", "grpc-status-details-bin"] {
        assert!(exposed.contains(header), "{header} not exposed: {exposed}");
    }
    let body = response.bytes().await.expect("body");
    // Data frame: flag 0, length, HealthCheckResponse{status: SERVING(1)} = 08 01.
    assert_eq!(&body[..7], &[0, 0, 0, 0, 2, 0x08, 0x01], "SERVING message");
    // Then the trailers frame (flag 0x80) with grpc-status 0.
    assert_eq!(body[7], 0x80, "trailer frame");
    let trailers = String::from_utf8_lossy(&body[12..]).to_ascii_lowercase();
    assert!(trailers.contains("grpc-status:0"), "trailers: {trailers}");
    app.shutdown().await;
}
