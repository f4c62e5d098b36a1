//! `WatchEvents` as clients hold it open: over grpc-web (HTTP/1.1, as a browser streams it) and
//! idle, where heartbeats repeat at `OPERANT_EVENT_HEARTBEAT_MS`.

use std::time::Duration;

use chrono::Utc;
use futures::StreamExt;
use operant_proto::events::v1::watch_events_response::Item;
use operant_proto::events::v1::*;
use operant_proto::tenancy::v1::Role;
use operant_testkit::{Actor as OrgActor, Clients, TestApp, grpc_web};
use tonic::Code;
use uuid::Uuid;

const WATCH: &str = "/operant.events.v1.EventService/WatchEvents";

fn event(org: Uuid, n: i64) -> Event {
    let data = serde_json::json!({"id": Uuid::now_v7().to_string(), "n": n});
    Event {
        id: Uuid::now_v7().to_string(),
        r#type: "task.created".into(),
        organization_id: org.to_string(),
        actor: Some(Actor { r#type: "USER".into(), id: Uuid::now_v7().to_string() }),
        occurred_at: Some(prost_types::Timestamp { seconds: Utc::now().timestamp(), nanos: 0 }),
        data: Some(operant_proto::json::to_struct(data.as_object().expect("object"))),
        changed_fields: vec![],
        cursor: String::new(),
    }
}

async fn ingest(c: &Clients, events: Vec<Event>) {
    let request = IngestEventsRequest { events };
    c.events_internal.clone().ingest_events(request).await.expect("ingest");
}

fn n_of(e: &Event) -> i64 {
    let data = serde_json::Value::Object(operant_proto::json::from_struct(e.data.as_ref().expect("data")));
    data["n"].as_i64().expect("n")
}

/// The grpc-web metadata of `who`: bearer token and organization.
fn metadata(who: &OrgActor) -> [(String, String); 2] {
    [
        ("authorization".into(), format!("Bearer {}", who.user.access)),
        ("x-organization-id".into(), who.org.to_string()),
    ]
}

async fn web_watch(
    app: &TestApp,
    who: &OrgActor,
    request: &WatchEventsRequest,
) -> Result<grpc_web::WebStream, tonic::Status> {
    let metadata = metadata(who);
    let pairs: Vec<(&str, &str)> = metadata.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    grpc_web::stream(app.events_addr, WATCH, request, &pairs).await
}

async fn next_item(stream: &mut grpc_web::WebStream) -> Item {
    let message: WatchEventsResponse = tokio::time::timeout(Duration::from_secs(10), stream.next())
        .await
        .expect("a message within 10 s")
        .expect("the stream is open")
        .expect("a message, not an error");
    message.item.expect("an item")
}

async fn next_web_event(stream: &mut grpc_web::WebStream) -> Event {
    loop {
        if let Item::Event(e) = next_item(stream).await {
            return e;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_events_streams_over_grpc_web_and_resumes_from_its_cursor() {
    let app = TestApp::spawn().await;
    let c = app.clients();
    let owner = c.owner("owner").await;
    let other = c.owner("other").await;
    app.events_relayed().await;
    ingest(&c, vec![event(owner.org, 0)]).await;

    // From now: the first message is a heartbeat at the head, then only what comes after it.
    let mut watch = web_watch(&app, &owner, &WatchEventsRequest::default()).await.expect("watch");
    let Item::Heartbeat(start) = next_item(&mut watch).await else { panic!("a heartbeat first") };
    assert!(!start.cursor.is_empty());
    ingest(&c, vec![event(other.org, 100), event(owner.org, 1), event(owner.org, 2)]).await;
    let one = next_web_event(&mut watch).await;
    let two = next_web_event(&mut watch).await;
    assert_eq!((n_of(&one), n_of(&two)), (1, 2), "its own organization's, in order, as they arrive");
    assert_eq!(one.organization_id, owner.org.to_string());
    drop(watch);

    // A browser reconnecting with the last cursor it received misses nothing.
    ingest(&c, vec![event(owner.org, 3), event(owner.org, 4)]).await;
    let resume = WatchEventsRequest { after: one.cursor.clone(), types: vec![] };
    let mut watch = web_watch(&app, &owner, &resume).await.expect("resume");
    let mut seen = Vec::new();
    for _ in 0..3 {
        seen.push(n_of(&next_web_event(&mut watch).await));
    }
    assert_eq!(seen, [2, 3, 4]);

    // Refusals travel as grpc-web statuses: a MEMBER may not watch.
    let member = c.member(&owner, "member", Role::Member).await;
    let refused = web_watch(&app, &member, &WatchEventsRequest::default()).await;
    let status = refused.err().expect("refused");
    assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heartbeats_repeat_at_the_configured_interval_on_an_idle_watch() {
    let interval = Duration::from_millis(300);
    let app = TestApp::spawn_with(|s| s.event_heartbeat = interval).await;
    let c = app.clients();
    let owner = c.owner("owner").await;
    app.events_relayed().await;
    ingest(&c, vec![event(owner.org, 0)]).await;
    let mut watch = c
        .events
        .clone()
        .watch_events(owner.req(WatchEventsRequest::default()))
        .await
        .expect("watch")
        .into_inner();
    let mut next = async || {
        let message = tokio::time::timeout(Duration::from_secs(5), watch.next())
            .await
            .expect("a message within 5 s")
            .expect("open")
            .expect("no error");
        (tokio::time::Instant::now(), message.item.expect("an item"))
    };
    let (mut last, first) = next().await;
    let Item::Heartbeat(first) = first else { panic!("a heartbeat first") };
    let mut gaps = Vec::new();
    for _ in 0..5 {
        let (at, item) = next().await;
        let Item::Heartbeat(beat) = item else { panic!("only heartbeats on an idle watch, got {item:?}") };
        assert_eq!(beat.cursor, first.cursor, "an idle watch stays where it is");
        gaps.push(at - last);
        last = at;
    }
    for gap in &gaps {
        assert!(*gap >= interval - Duration::from_millis(50), "too early: {gaps:?}");
        assert!(*gap <= interval + Duration::from_millis(250), "too late: {gaps:?}");
    }

    // An event resets the quiet time; heartbeats carry the position reached afterwards.
    ingest(&c, vec![event(owner.org, 1)]).await;
    let (_, item) = next().await;
    let Item::Event(e) = item else { panic!("the event, got {item:?}") };
    assert_eq!(n_of(&e), 1);
    let (_, item) = next().await;
    let Item::Heartbeat(beat) = item else { panic!("a heartbeat, got {item:?}") };
    assert_eq!(beat.cursor, e.cursor);
    app.shutdown().await;
}
