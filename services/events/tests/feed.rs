//! The change feed of the events service on its own: ingest (idempotent, service-only,
//! validated), ListEvents (cursor, types, isolation, ADMIN+), the late-commit ordering case,
//! WatchEvents (from now, resume without gaps) and retention.

use std::time::Duration;

use chrono::Utc;
use futures::StreamExt;
use operant_proto::events::v1::watch_events_response::Item;
use operant_proto::events::v1::*;
use operant_proto::tenancy::v1::Role;
use operant_testkit::{Actor as OrgActor, Clients, TestApp, assert_error, assert_invalid};
use tonic::Code;
use uuid::Uuid;

/// An event of `org` with a fresh UUIDv7.
fn event(org: Uuid, event_type: &str, n: i64) -> Event {
    event_with_id(Uuid::now_v7(), org, event_type, n)
}

fn event_with_id(id: Uuid, org: Uuid, event_type: &str, n: i64) -> Event {
    let data = serde_json::json!({"id": Uuid::now_v7().to_string(), "n": n});
    Event {
        id: id.to_string(),
        r#type: event_type.into(),
        organization_id: org.to_string(),
        actor: Some(Actor { r#type: "USER".into(), id: Uuid::now_v7().to_string() }),
        occurred_at: Some(prost_types::Timestamp { seconds: Utc::now().timestamp(), nanos: 0 }),
        data: Some(operant_proto::json::to_struct(data.as_object().expect("object"))),
        changed_fields: vec![],
        cursor: String::new(),
    }
}

async fn ingest(c: &Clients, events: Vec<Event>) -> IngestEventsResponse {
    c.events_internal
        .clone()
        .ingest_events(IngestEventsRequest { events })
        .await
        .expect("ingest")
        .into_inner()
}

/// The feed's head once the events of the setup (tenancy's: organizations created, members
/// joining) are in: the test's own events come after it.
async fn settled(app: &TestApp, c: &Clients, who: &OrgActor) -> String {
    app.events_relayed().await;
    list(c, who, "", &[], 100).await.next_cursor
}

async fn list(c: &Clients, who: &OrgActor, after: &str, types: &[&str], limit: i32) -> ListEventsResponse {
    let request = ListEventsRequest {
        after: after.into(),
        types: types.iter().map(|t| t.to_string()).collect(),
        limit,
    };
    c.events.clone().list_events(who.req(request)).await.expect("list events").into_inner()
}

fn n_of(e: &Event) -> i64 {
    let data = serde_json::Value::Object(operant_proto::json::from_struct(e.data.as_ref().expect("data")));
    data["n"].as_i64().expect("n")
}

#[tokio::test]
async fn ingest_is_idempotent_and_the_feed_pages_by_cursor() {
    let app = TestApp::spawn().await;
    let c = app.clients();
    let owner = c.owner("owner").await;
    let since = settled(&app, &c, &owner).await;
    let batch: Vec<Event> = (0..5).map(|n| event(owner.org, "task.created", n)).collect();
    assert_eq!(ingest(&c, batch.clone()).await, IngestEventsResponse { accepted: 5, duplicates: 0 });
    // A relay that crashed after sending sends again: nothing is added.
    assert_eq!(ingest(&c, batch[3..].to_vec()).await, IngestEventsResponse { accepted: 0, duplicates: 2 });

    let first = list(&c, &owner, &since, &[], 2).await;
    assert_eq!(first.events.iter().map(n_of).collect::<Vec<_>>(), [0, 1]);
    assert!(first.has_more);
    assert_eq!(first.next_cursor, first.events[1].cursor);
    let second = list(&c, &owner, &first.next_cursor, &[], 2).await;
    assert_eq!(second.events.iter().map(n_of).collect::<Vec<_>>(), [2, 3]);
    let third = list(&c, &owner, &second.next_cursor, &[], 2).await;
    assert_eq!(third.events.iter().map(n_of).collect::<Vec<_>>(), [4]);
    assert!(!third.has_more);
    let empty = list(&c, &owner, &third.next_cursor, &[], 2).await;
    assert!(empty.events.is_empty());
    assert_eq!(empty.next_cursor, third.next_cursor, "polling an empty page keeps the cursor");

    // The event as it was sent: id, type, organization, actor, data.
    let got = &first.events[0];
    assert_eq!(got.id, batch[0].id);
    assert_eq!(got.r#type, "task.created");
    assert_eq!(got.organization_id, owner.org.to_string());
    assert_eq!(got.actor, batch[0].actor);
    assert_eq!(got.data, batch[0].data);
    app.shutdown().await;
}

#[tokio::test]
async fn the_feed_filters_by_type_and_is_isolated_and_admin_only() {
    let app = TestApp::spawn().await;
    let c = app.clients();
    let owner = c.owner("owner").await;
    let admin = c.member(&owner, "admin", Role::Admin).await;
    let member = c.member(&owner, "member", Role::Member).await;
    let other = c.owner("other").await;
    let since = settled(&app, &c, &owner).await;
    ingest(
        &c,
        vec![
            event(owner.org, "project.created", 1),
            event(other.org, "project.created", 100),
            event(owner.org, "task.created", 2),
            event(owner.org, "task.deleted", 3),
        ],
    )
    .await;
    let all = list(&c, &admin, &since, &[], 0).await;
    assert_eq!(all.events.iter().map(n_of).collect::<Vec<_>>(), [1, 2, 3], "only the organization's own");
    let tasks = list(&c, &owner, &since, &["task.created", "task.deleted"], 0).await;
    assert_eq!(tasks.events.iter().map(n_of).collect::<Vec<_>>(), [2, 3]);
    let comma = list(&c, &owner, &since, &["project.created,task.deleted"], 0).await;
    assert_eq!(comma.events.iter().map(n_of).collect::<Vec<_>>(), [1, 3]);
    let theirs = list(&c, &other, &since, &[], 0).await;
    assert_eq!(theirs.events.iter().map(n_of).collect::<Vec<_>>(), [100]);

    let as_member = c.events.clone().list_events(member.req(ListEventsRequest::default())).await;
    assert_error(as_member, Code::PermissionDenied, "INSUFFICIENT_ROLE", 403);
    let outsider =
        c.events.clone().list_events(other.in_org(owner.org).req(ListEventsRequest::default())).await;
    assert_error(outsider, Code::PermissionDenied, "NOT_A_MEMBER", 403);
    let bad = async |r: ListEventsRequest| c.events.clone().list_events(owner.req(r)).await;
    assert_invalid(bad(ListEventsRequest { after: "abc".into(), ..Default::default() }).await, "after");
    assert_invalid(
        bad(ListEventsRequest { types: vec!["Task".into()], ..Default::default() }).await,
        "types",
    );
    assert_invalid(bad(ListEventsRequest { limit: 101, ..Default::default() }).await, "limit");
    let watch_member = c.events.clone().watch_events(member.req(WatchEventsRequest::default())).await;
    assert_error(watch_member, Code::PermissionDenied, "INSUFFICIENT_ROLE", 403);
    app.shutdown().await;
}

#[tokio::test]
async fn ingest_is_for_services_and_validates_each_event() {
    let app = TestApp::spawn().await;
    let c = app.clients();
    let owner = c.owner("owner").await;
    let since = settled(&app, &c, &owner).await;
    let request = IngestEventsRequest { events: vec![event(owner.org, "task.created", 1)] };
    let mut as_user =
        operant_proto::events::v1::events_internal_service_client::EventsInternalServiceClient::new(
            app.channel(app.events_addr).await,
        );
    assert_error(
        as_user.ingest_events(owner.req(request)).await,
        Code::PermissionDenied,
        "SERVICE_ONLY",
        403,
    );

    let mut v4 = event(owner.org, "task.created", 1);
    v4.id = Uuid::new_v4().to_string();
    let mut no_type = event(owner.org, "Task Created", 2);
    no_type.actor = None;
    let ingest = async |events| c.events_internal.clone().ingest_events(IngestEventsRequest { events }).await;
    assert_invalid(ingest(vec![event(owner.org, "task.created", 0), v4]).await, "events[1].id");
    assert_invalid(ingest(vec![no_type]).await, "events[0].type");
    let mut no_data = event(owner.org, "task.created", 3);
    no_data.data = None;
    assert_invalid(ingest(vec![no_data]).await, "events[0].data");
    // A refused batch keeps nothing, not even its valid events.
    assert!(list(&c, &owner, &since, &[], 0).await.events.is_empty());
    app.shutdown().await;
}

/// Commit order is not id order: an event made first (a smaller UUIDv7, an earlier clock) whose
/// producer commits after a reader has passed a later event still reaches that reader.
#[tokio::test]
async fn an_event_committed_late_still_reaches_a_reader_that_passed_a_later_id() {
    let app = TestApp::spawn().await;
    let c = app.clients();
    let owner = c.owner("owner").await;
    let since = settled(&app, &c, &owner).await;
    let early = Uuid::now_v7();
    tokio::time::sleep(Duration::from_millis(2)).await;
    let late = Uuid::now_v7();
    assert!(early < late);
    ingest(&c, vec![event_with_id(late, owner.org, "task.updated", 2)]).await;
    let seen = list(&c, &owner, &since, &[], 0).await;
    assert_eq!(seen.events.iter().map(|e| e.id.clone()).collect::<Vec<_>>(), [late.to_string()]);
    // The earlier event's transaction commits only now.
    ingest(&c, vec![event_with_id(early, owner.org, "task.created", 1)]).await;
    let next = list(&c, &owner, &seen.next_cursor, &[], 0).await;
    assert_eq!(next.events.iter().map(|e| e.id.clone()).collect::<Vec<_>>(), [early.to_string()]);
    app.shutdown().await;
}

/// Many concurrent ingests while a reader pages with its cursor as fast as it can: the reader
/// ends up with every event exactly once, none skipped by a commit that landed behind it.
#[tokio::test]
async fn a_reader_racing_concurrent_ingests_misses_nothing() {
    let app = TestApp::spawn().await;
    let c = app.clients();
    let owner = c.owner("owner").await;
    let since = settled(&app, &c, &owner).await;
    let writers: Vec<_> = (0..8)
        .map(|w| {
            let c = c.clone();
            let org = owner.org;
            tokio::spawn(async move {
                for i in 0..15 {
                    let n = w * 1000 + i;
                    let batch = vec![event(org, "task.created", n), event(org, "task.updated", n + 500)];
                    ingest(&c, batch).await;
                }
            })
        })
        .collect();
    let mut seen = Vec::new();
    let mut cursor = since;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while seen.len() < 8 * 15 * 2 && tokio::time::Instant::now() < deadline {
        let page = list(&c, &owner, &cursor, &[], 100).await;
        seen.extend(page.events.iter().map(n_of));
        cursor = page.next_cursor;
    }
    for w in writers {
        w.await.expect("writer");
    }
    let page = list(&c, &owner, &cursor, &[], 100).await;
    seen.extend(page.events.iter().map(n_of));
    let mut sorted = seen.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(sorted.len(), seen.len(), "an event was read twice");
    assert_eq!(seen.len(), 8 * 15 * 2, "an event was skipped");
    app.shutdown().await;
}

async fn next_item(stream: &mut tonic::Streaming<WatchEventsResponse>) -> Item {
    tokio::time::timeout(Duration::from_secs(10), stream.next())
        .await
        .expect("a message within 10 s")
        .expect("the stream is open")
        .expect("a message")
        .item
        .expect("an item")
}

async fn next_event(stream: &mut tonic::Streaming<WatchEventsResponse>) -> Event {
    loop {
        if let Item::Event(e) = next_item(stream).await {
            return e;
        }
    }
}

#[tokio::test]
async fn watch_starts_from_now_and_resumes_after_its_last_cursor_without_gaps() {
    let app = TestApp::spawn().await;
    let c = app.clients();
    let owner = c.owner("owner").await;
    app.events_relayed().await;
    ingest(&c, vec![event(owner.org, "task.created", 0)]).await;

    let mut from_now = c
        .events
        .clone()
        .watch_events(owner.req(WatchEventsRequest::default()))
        .await
        .expect("watch")
        .into_inner();
    let Item::Heartbeat(start) = next_item(&mut from_now).await else { panic!("a heartbeat comes first") };
    ingest(&c, vec![event(owner.org, "task.created", 1), event(owner.org, "task.created", 2)]).await;
    let one = next_event(&mut from_now).await;
    assert_eq!(n_of(&one), 1, "event 0 is from before the watch started");
    let two = next_event(&mut from_now).await;
    assert_eq!(n_of(&two), 2);
    drop(from_now);

    // Disconnected: events 3..=6 are accepted meanwhile.
    ingest(&c, (3..=6).map(|n| event(owner.org, "task.created", n)).collect()).await;
    let resume = WatchEventsRequest { after: two.cursor.clone(), types: vec![] };
    let mut resumed = c.events.clone().watch_events(owner.req(resume)).await.expect("watch").into_inner();
    let mut got = Vec::new();
    for _ in 3..=6 {
        got.push(n_of(&next_event(&mut resumed).await));
    }
    ingest(&c, vec![event(owner.org, "task.created", 7)]).await;
    got.push(n_of(&next_event(&mut resumed).await));
    assert_eq!(got, [3, 4, 5, 6, 7]);

    // The heartbeat's cursor is a resume point too: from the start, everything after event 0.
    let again = WatchEventsRequest { after: start.cursor, types: vec!["task.created".into()] };
    let mut again = c.events.clone().watch_events(owner.req(again)).await.expect("watch").into_inner();
    let mut all = Vec::new();
    for _ in 1..=7 {
        all.push(n_of(&next_event(&mut again).await));
    }
    assert_eq!(all, [1, 2, 3, 4, 5, 6, 7]);
    app.shutdown().await;
}

#[tokio::test]
async fn events_older_than_the_retention_are_purged() {
    let app = TestApp::spawn().await;
    let c = app.clients();
    let owner = c.owner("owner").await;
    let since = settled(&app, &c, &owner).await;
    let mut old = event(owner.org, "task.created", 1);
    old.occurred_at =
        Some(prost_types::Timestamp { seconds: Utc::now().timestamp() - 31 * 86_400, nanos: 0 });
    ingest(&c, vec![old, event(owner.org, "task.created", 2)]).await;
    assert_eq!(list(&c, &owner, &since, &[], 0).await.events.len(), 2);

    let pool = operant_platform::db::pool(&app.database_url, &app.settings.database).expect("pool");
    let events = operant_events::domain::Events::new(pool);
    let deleted = events.purge_expired(Duration::from_secs(30 * 86_400)).await.expect("purge");
    assert_eq!(deleted, 1);
    let left = list(&c, &owner, &since, &[], 0).await;
    assert_eq!(left.events.iter().map(n_of).collect::<Vec<_>>(), [2]);
    app.shutdown().await;
}
