//! The OTLP exporter, end to end: with `OPERANT_OTLP_ENDPOINT` pointing at a collector (here a
//! fake one, the generated `TraceService` server feeding a channel), one REST request that
//! crosses gateway → work → tenancy arrives as one tree of SERVER spans:
//! - every span carries the client's trace id, and comes from its process
//!   (`service.name` `operant-gateway`, `operant-work`, `operant-tenancy`);
//! - the gateway's span is the child of the client's span, work's the child of the gateway's,
//!   tenancy's `Authorize` the child of work's;
//! - names, kinds, the HTTP and RPC attributes and the statuses are set (ERROR for a failed
//!   gRPC call, not for a REST 4xx);
//! - an unsampled trace (`traceparent` flags `00`) exports nothing.
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::time::Duration;

use operant_proto::otlp::collector::trace::v1::trace_service_server::{TraceService, TraceServiceServer};
use operant_proto::otlp::collector::trace::v1::{ExportTraceServiceRequest, ExportTraceServiceResponse};
use operant_proto::otlp::common::v1::{KeyValue, any_value};
use operant_proto::otlp::trace::v1::{Span, span, status};
use operant_testkit::TestApp;
use serde_json::{Value, json};
use tokio::sync::mpsc;

/// A received span and the `service.name` of the process that sent it.
#[derive(Debug, Clone)]
struct Received {
    service: String,
    span: Span,
}

/// The fake collector: every span it receives goes into the channel.
struct Collector(mpsc::UnboundedSender<Received>);

#[tonic::async_trait]
impl TraceService for Collector {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        for resource_spans in request.into_inner().resource_spans {
            let service = resource_spans
                .resource
                .as_ref()
                .and_then(|r| r.attributes.iter().find(|a| a.key == "service.name"))
                .and_then(string_value)
                .unwrap_or_default();
            for span in resource_spans.scope_spans.into_iter().flat_map(|s| s.spans) {
                let _ = self.0.send(Received { service: service.clone(), span });
            }
        }
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

fn string_value(kv: &KeyValue) -> Option<String> {
    match kv.value.as_ref()?.value.as_ref()? {
        any_value::Value::StringValue(s) => Some(s.clone()),
        _ => None,
    }
}

fn attributes(span: &Span) -> HashMap<String, String> {
    span.attributes
        .iter()
        .filter_map(|kv| {
            let value = match kv.value.as_ref()?.value.as_ref()? {
                any_value::Value::StringValue(s) => s.clone(),
                any_value::Value::IntValue(i) => format!("int:{i}"),
                other => format!("{other:?}"),
            };
            Some((kv.key.clone(), value))
        })
        .collect()
}

fn unhex(text: &str) -> Vec<u8> {
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap()).collect()
}

/// Every span received so far and until `done` says the set is complete (or 15 s passed).
async fn collect_until(
    rx: &mut mpsc::UnboundedReceiver<Received>,
    all: &mut Vec<Received>,
    done: impl Fn(&[Received]) -> bool,
) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while !done(all) {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(received)) => all.push(received),
            Ok(None) | Err(_) => break,
        }
    }
}

fn find<'a>(all: &'a [Received], trace_id: &[u8], service: &str, name: &str) -> Option<&'a Received> {
    all.iter().find(|r| r.span.trace_id == trace_id && r.service == service && r.span.name == name)
}

fn is_error(span: &Span) -> bool {
    span.status.as_ref().is_some_and(|s| s.code == status::StatusCode::Error as i32)
}

async fn post(http: &reqwest::Client, url: String, body: Value, bearer: Option<&str>) -> Value {
    let mut request = http.post(url).json(&body);
    if let Some(token) = bearer {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    assert!(response.status().is_success(), "{}", response.status());
    response.json().await.unwrap_or(Value::Null)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_arrives_as_one_tree_of_spans() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let collector_addr = listener.local_addr().unwrap();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let collector = tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(TraceServiceServer::new(Collector(tx)))
            .serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener)),
    );
    let app = TestApp::spawn_with(|settings| {
        settings.otlp_endpoint = Some(format!("http://{collector_addr}"));
    })
    .await;
    let api = format!("{}/api/v1", app.gateway_url());
    let http = reqwest::Client::new();

    let credentials = json!({"email": "traced@example.com", "password": "a long enough password"});
    post(&http, format!("{api}/auth/register"), credentials.clone(), None).await;
    let login = post(&http, format!("{api}/auth/login"), credentials, None).await;
    let access = login["access_token"].as_str().unwrap().to_owned();
    let org =
        post(&http, format!("{api}/organizations"), json!({"name": "Spans", "slug": "spans"}), Some(&access))
            .await;
    let org_id = org["id"].as_str().unwrap().to_owned();

    let get = |path: String, traceparent: String| {
        http.get(format!("{api}{path}"))
            .bearer_auth(&access)
            .header("x-organization-id", &org_id)
            .header("traceparent", traceparent)
            .send()
    };
    // The traced request: gateway → work (ListProjects) → tenancy (Authorize).
    let trace_hex = "4bf92f3577b34da6a3ce929d0e0e4736";
    let client_span_hex = "00f067aa0ba902b7";
    let listed = get("/projects".into(), format!("00-{trace_hex}-{client_span_hex}-01")).await.unwrap();
    assert_eq!(listed.status(), 200);
    // A failing one: 404 from work's GetProject.
    let failed_trace_hex = "0af7651916cd43dd8448eb211c80319c";
    let missing = get(
        "/projects/0190a5a0-0000-7000-8000-000000000000".into(),
        format!("00-{failed_trace_hex}-b7ad6b7169203331-01"),
    )
    .await
    .unwrap();
    assert_eq!(missing.status(), 404);
    // An unsampled one.
    let unsampled_trace_hex = "11111111111111111111111111111111";
    let unsampled =
        get("/projects".into(), format!("00-{unsampled_trace_hex}-2222222222222222-00")).await.unwrap();
    assert_eq!(unsampled.status(), 200);

    let (trace_id, failed_trace_id) = (unhex(trace_hex), unhex(failed_trace_hex));
    let mut all = Vec::new();
    collect_until(&mut rx, &mut all, |all| {
        find(all, &trace_id, "operant-gateway", "GET /api/v1/projects").is_some()
            && find(all, &trace_id, "operant-work", "operant.work.v1.ProjectService/ListProjects").is_some()
            && find(all, &trace_id, "operant-tenancy", "operant.tenancy.v1.TenancyInternalService/Authorize")
                .is_some()
            && find(all, &failed_trace_id, "operant-gateway", "GET /api/v1/projects/{id}").is_some()
            && find(all, &failed_trace_id, "operant-work", "operant.work.v1.ProjectService/GetProject")
                .is_some()
    })
    .await;
    // Shutting down flushes every exporter: whatever else was recorded is now delivered.
    app.shutdown().await;
    while let Ok(received) = rx.try_recv() {
        all.push(received);
    }
    collector.abort();
    let summary: Vec<String> = all.iter().map(|r| format!("{} {}", r.service, r.span.name)).collect();

    // The tree.
    let gateway = find(&all, &trace_id, "operant-gateway", "GET /api/v1/projects")
        .unwrap_or_else(|| panic!("no gateway span of the trace in {summary:#?}"));
    let work = find(&all, &trace_id, "operant-work", "operant.work.v1.ProjectService/ListProjects")
        .unwrap_or_else(|| panic!("no work span of the trace in {summary:#?}"));
    let tenancy =
        find(&all, &trace_id, "operant-tenancy", "operant.tenancy.v1.TenancyInternalService/Authorize")
            .unwrap_or_else(|| panic!("no tenancy Authorize span of the trace in {summary:#?}"));
    assert_eq!(gateway.span.parent_span_id, unhex(client_span_hex), "gateway's parent is the client's span");
    assert_eq!(work.span.parent_span_id, gateway.span.span_id, "work's parent is the gateway's span");
    assert_eq!(tenancy.span.parent_span_id, work.span.span_id, "tenancy's parent is work's span");
    let ids = [&gateway.span.span_id, &work.span.span_id, &tenancy.span.span_id, &unhex(client_span_hex)];
    for (i, a) in ids.iter().enumerate() {
        assert_eq!(a.len(), 8);
        assert!(ids[i + 1..].iter().all(|b| b != a), "span ids must differ: {ids:?}");
    }
    let in_trace = all.iter().filter(|r| r.span.trace_id == trace_id).count();
    assert!(in_trace >= 3, "{summary:#?}");

    // Kinds, times, attributes and statuses.
    for received in [gateway, work, tenancy] {
        let span = &received.span;
        assert_eq!(span.kind, span::SpanKind::Server as i32, "{}", span.name);
        assert!(span.start_time_unix_nano > 0 && span.end_time_unix_nano >= span.start_time_unix_nano);
        assert!(!is_error(span), "{} is not an error", span.name);
    }
    let attrs = attributes(&gateway.span);
    assert_eq!(attrs["http.request.method"], "GET");
    assert_eq!(attrs["http.route"], "/api/v1/projects");
    assert_eq!(attrs["http.response.status_code"], "int:200");
    for (received, service, method) in [
        (work, "operant.work.v1.ProjectService", "ListProjects"),
        (tenancy, "operant.tenancy.v1.TenancyInternalService", "Authorize"),
    ] {
        let attrs = attributes(&received.span);
        assert_eq!(attrs["rpc.system"], "grpc");
        assert_eq!(attrs["rpc.service"], service);
        assert_eq!(attrs["rpc.method"], method);
        assert_eq!(attrs["rpc.grpc.status_code"], "int:0");
    }

    // The failed request: work's span is an error (NOT_FOUND), the gateway's 404 is not.
    let failed_gateway = find(&all, &failed_trace_id, "operant-gateway", "GET /api/v1/projects/{id}")
        .unwrap_or_else(|| panic!("no gateway span of the failed request in {summary:#?}"));
    let failed_work =
        find(&all, &failed_trace_id, "operant-work", "operant.work.v1.ProjectService/GetProject")
            .unwrap_or_else(|| panic!("no work span of the failed request in {summary:#?}"));
    assert_eq!(failed_work.span.parent_span_id, failed_gateway.span.span_id);
    assert!(is_error(&failed_work.span));
    assert_eq!(failed_work.span.status.as_ref().unwrap().message, "NOT_FOUND");
    assert_eq!(attributes(&failed_work.span)["rpc.grpc.status_code"], "int:5");
    assert!(!is_error(&failed_gateway.span), "a 4xx is not a server error");
    assert_eq!(attributes(&failed_gateway.span)["http.response.status_code"], "int:404");

    // Not sampled: not exported, by any process.
    let unsampled_id = unhex(unsampled_trace_hex);
    assert!(
        all.iter().all(|r| r.span.trace_id != unsampled_id),
        "an unsampled trace was exported: {summary:#?}"
    );
    // Probes are not exported: the suite's readiness checks made none.
    assert!(all.iter().all(|r| !r.span.name.starts_with("grpc.health.")), "{summary:#?}");
}
