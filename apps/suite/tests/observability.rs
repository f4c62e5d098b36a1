//! What the logs of a full run say, and what they must never say.
//! - No password, access token or refresh token appears in any log line (at `debug`, stricter
//!   than production's `info`), whatever route it went through.
//! - One trace id follows a request from the gateway through work to tenancy: the W3C
//!   `traceparent` sent by the client is continued by every hop.
#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::sync::{Arc, Mutex};

use operant_testkit::TestApp;
use serde_json::{Value, json};

/// Collects every log line of the process.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

fn capture_logs() -> Captured {
    let captured = Captured::default();
    tracing_subscriber::fmt()
        .json()
        .with_current_span(true)
        .with_span_list(true)
        .with_env_filter("debug")
        .with_writer(captured.clone())
        .init();
    captured
}

async fn post(client: &reqwest::Client, url: String, body: Value, bearer: Option<&str>) -> reqwest::Response {
    let mut request = client.post(url).json(&body);
    if let Some(token) = bearer {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_carry_the_trace_and_never_a_secret() {
    let logs = capture_logs();
    let app = TestApp::spawn().await;
    let api = format!("{}/api/v1", app.gateway_url());
    let http = reqwest::Client::new();
    let email = "observed@example.com";
    let password = "first secret password";
    let new_password = "second secret password";

    assert_eq!(
        post(&http, format!("{api}/auth/register"), json!({"email": email, "password": password}), None)
            .await
            .status(),
        201
    );
    let login: Value =
        post(&http, format!("{api}/auth/login"), json!({"email": email, "password": password}), None)
            .await
            .json()
            .await
            .unwrap();
    let access = login["access_token"].as_str().unwrap().to_owned();
    let refresh = login["refresh_token"].as_str().unwrap().to_owned();
    // A failed login with the new password, and a refresh in the body and in the header.
    post(&http, format!("{api}/auth/login"), json!({"email": email, "password": new_password}), None).await;
    let second: Value = post(&http, format!("{api}/auth/refresh"), json!({"refresh_token": refresh}), None)
        .await
        .json()
        .await
        .unwrap();
    let refresh2 = second["refresh_token"].as_str().unwrap().to_owned();
    let third: Value =
        post(&http, format!("{api}/auth/refresh"), json!({}), Some(&refresh2)).await.json().await.unwrap();
    let access3 = third["access_token"].as_str().unwrap().to_owned();
    let refresh3 = third["refresh_token"].as_str().unwrap().to_owned();

    // One traced request through gateway → work → tenancy.
    let org: Value = post(
        &http,
        format!("{api}/organizations"),
        json!({"name": "Traced", "slug": "traced"}),
        Some(&access3),
    )
    .await
    .json()
    .await
    .unwrap();
    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let listed = http
        .get(format!("{api}/projects"))
        .bearer_auth(&access3)
        .header("x-organization-id", org["id"].as_str().unwrap())
        .header("traceparent", format!("00-{trace_id}-00f067aa0ba902b7-01"))
        .send()
        .await
        .unwrap();
    assert_eq!(listed.status(), 200);

    let changed = post(
        &http,
        format!("{api}/users/me/password"),
        json!({"current_password": password, "new_password": new_password}),
        Some(&access3),
    )
    .await;
    assert_eq!(changed.status(), 204);
    post(&http, format!("{api}/auth/logout"), json!({}), Some(&access3)).await;
    app.shutdown().await;

    let text = logs.text();
    assert!(text.lines().count() > 20, "too few log lines captured:\n{text}");
    for (what, secret) in [
        ("password", password),
        ("new password", new_password),
        ("access token", access.as_str()),
        ("access token", access3.as_str()),
        ("refresh token", refresh.as_str()),
        ("refresh token", refresh2.as_str()),
        ("refresh token", refresh3.as_str()),
    ] {
        if let Some(line) = text.lines().find(|line| line.contains(secret)) {
            panic!("a {what} appears in the logs: {line}");
        }
    }
    // Refresh tokens are `ort_` + base64url of 32 bytes: no such string anywhere.
    assert!(!text.contains("ort_"), "something that looks like a refresh token is logged");

    let hops: Vec<&str> = ["gateway", "work", "tenancy"]
        .into_iter()
        .filter(|hop| {
            text.lines().any(|line| {
                line.contains(&format!("\"trace_id\":\"{trace_id}\""))
                    && (line.contains(&format!("\"service\":\"{hop}\""))
                        || (*hop == "gateway" && line.contains("\"http\"")))
            })
        })
        .collect();
    assert_eq!(hops, ["gateway", "work", "tenancy"], "the trace id did not reach every hop");
}
