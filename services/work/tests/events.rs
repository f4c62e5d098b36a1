//! The work service's events: `project.*` and `task.*`, each written to the outbox in the
//! transaction of its change and relayed to the events service, exactly once per change; kept
//! across an events outage and a relay that died after sending; a late commit still reaches a
//! reader that has passed it.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use futures::StreamExt;
use operant_proto::events::v1::watch_events_response::Item;
use operant_proto::events::v1::{Event, IngestEventsRequest, ListEventsRequest, WatchEventsRequest};
use operant_proto::work::v1::*;
use operant_testkit::*;
use serde_json::Value;

fn data(e: &Event) -> Value {
    Value::Object(operant_proto::json::from_struct(e.data.as_ref().unwrap()))
}

/// The work service's event types (the organization's feed also has tenancy's).
fn work_types() -> Vec<String> {
    ["project.created", "project.updated", "project.deleted", "task.created", "task.updated", "task.deleted"]
        .map(String::from)
        .to_vec()
}

/// Every work event of the organization in the feed, read page by page.
async fn feed(c: &Clients, owner: &Actor) -> Vec<Event> {
    let mut all = Vec::new();
    let mut after = String::new();
    loop {
        let request = ListEventsRequest { after: after.clone(), types: work_types(), limit: 100 };
        let page = c.events.clone().list_events(owner.req(request)).await.unwrap().into_inner();
        all.extend(page.events);
        after = page.next_cursor;
        if !page.has_more {
            return all;
        }
    }
}

/// The feed once it holds `n` events (or what it holds after 10 s).
async fn feed_of(c: &Clients, owner: &Actor, n: usize) -> Vec<Event> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let events = feed(c, owner).await;
        if events.len() >= n || tokio::time::Instant::now() > deadline {
            return events;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn outbox_rows(app: &TestApp) -> i64 {
    app.sql().await.query_one("SELECT count(*) FROM work_event_outbox", &[]).await.unwrap().get(0)
}

fn types(events: &[Event]) -> Vec<&str> {
    events.iter().map(|e| e.r#type.as_str()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_change_produces_its_event_once() {
    let app = TestApp::spawn().await;
    let c = app.clients();
    let owner = c.owner("owner").await;
    let mut projects = c.projects.clone();
    let mut tasks = c.tasks.clone();

    let project = c.project(&owner, "Apollo").await;
    let renamed = UpdateProjectRequest {
        project_id: project.id.clone(),
        project: Some(Project { name: "Artemis".into(), ..Default::default() }),
        update_mask: field_mask(&["name"]),
        expected_version: None,
    };
    projects.update_project(owner.req(renamed.clone())).await.unwrap();
    // Refused and empty updates change nothing: no event.
    let stale = UpdateProjectRequest { expected_version: Some(99), ..renamed };
    assert_version_mismatch(projects.update_project(owner.req(stale)).await);
    let nothing = UpdateProjectRequest { project_id: project.id.clone(), ..Default::default() };
    projects.update_project(owner.req(nothing)).await.unwrap();

    // A task without a key, one with a key (the one-statement path) and its replay.
    let plain = c.task(&owner, &project, "Plain").await;
    let keyed = CreateTaskRequest {
        project_id: project.id.clone(),
        title: "Keyed".into(),
        request_id: random_id(),
        ..Default::default()
    };
    let first = tasks.create_task(owner.req(keyed.clone())).await.unwrap().into_inner().task.unwrap();
    let again = tasks.create_task(owner.req(keyed)).await.unwrap().into_inner().task.unwrap();
    assert_eq!(again.id, first.id, "a replay");
    let done = UpdateTaskRequest {
        task_id: plain.id.clone(),
        task: Some(Task { status: TaskStatus::Done as i32, title: "Plain!".into(), ..Default::default() }),
        update_mask: field_mask(&["status", "title"]),
        expected_version: None,
    };
    tasks.update_task(owner.req(done)).await.unwrap();
    tasks
        .delete_task(owner.req(DeleteTaskRequest { task_id: plain.id.clone(), expected_version: None }))
        .await
        .unwrap();
    // Deleting the project deletes the keyed task with it: an event for each.
    let delete = DeleteProjectRequest { project_id: project.id.clone(), expected_version: None };
    projects.delete_project(owner.req(delete)).await.unwrap();

    let events = feed_of(&c, &owner, 8).await;
    assert_eq!(
        types(&events),
        [
            "project.created",
            "project.updated",
            "task.created",
            "task.created",
            "task.updated",
            "task.deleted",
            "task.deleted",
            "project.deleted"
        ]
    );
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(feed(&c, &owner).await.len(), 8, "nothing more arrives");
    assert_eq!(outbox_rows(&app).await, 0, "the relay deleted what the feed accepted");

    let created = data(&events[0]);
    assert_eq!(created["id"], project.id.as_str());
    assert_eq!(created["name"], "Apollo");
    assert_eq!(created["version"], 1);
    let actor = events[0].actor.clone().unwrap();
    assert_eq!((actor.r#type.as_str(), actor.id.as_str()), ("USER", owner.user.id.as_str()));
    assert_eq!(events[0].organization_id, owner.org.to_string());

    assert_eq!(data(&events[1])["name"], "Artemis");
    assert_eq!(events[1].changed_fields, ["name"]);
    assert_eq!(data(&events[2])["title"], "Plain");
    assert_eq!(data(&events[3])["id"], first.id.as_str());
    assert_eq!(data(&events[3])["status"], "TODO");
    assert_eq!(data(&events[4])["status"], "DONE");
    assert_eq!(events[4].changed_fields, ["status", "title"]);
    assert_eq!(data(&events[5]), serde_json::json!({"id": plain.id}));
    assert_eq!(data(&events[6]), serde_json::json!({"id": first.id}));
    assert_eq!(data(&events[7]), serde_json::json!({"id": project.id}));
    let mut ids: Vec<&str> = events.iter().map(|e| e.id.as_str()).collect();
    ids.dedup();
    assert_eq!(ids.len(), 8);
    app.shutdown().await;
}

/// Changes made while the events service is down are acknowledged, kept in the outbox and reach
/// the feed once it is back; a relay that died after sending (its rows sent, not deleted)
/// sends them again and the feed still keeps each once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_survive_an_events_outage_and_a_relay_killed_after_sending() {
    let mut app = TestApp::spawn().await;
    let c = app.clients();
    let owner = c.owner("owner").await;
    app.stop(Svc::Events).await;
    let project = c.project(&owner, "Offline").await;
    c.task(&owner, &project, "One").await;
    c.task(&owner, &project, "Two").await;
    assert_eq!(outbox_rows(&app).await, 3, "committed with their changes");

    // The relay dies with the outbox sent but not deleted: stop work, send its rows by hand.
    app.stop(Svc::Work).await;
    app.start(Svc::Events).await;
    let sql = app.sql().await;
    let rows = sql
        .query(
            "SELECT id::text, organization_id::text, type, actor_type, actor_id::text, data::text \
             FROM work_event_outbox ORDER BY occurred_at, id",
            &[],
        )
        .await
        .unwrap();
    let sent: Vec<Event> = rows
        .iter()
        .map(|r| {
            let data: Value = serde_json::from_str(r.get::<_, &str>(5)).unwrap();
            Event {
                id: r.get(0),
                organization_id: r.get(1),
                r#type: r.get(2),
                actor: Some(operant_proto::events::v1::Actor { r#type: r.get(3), id: r.get(4) }),
                occurred_at: Some(prost_types::Timestamp {
                    seconds: chrono::Utc::now().timestamp(),
                    nanos: 0,
                }),
                data: Some(operant_proto::json::to_struct(data.as_object().unwrap())),
                ..Default::default()
            }
        })
        .collect();
    let answer = c.events_internal.clone().ingest_events(IngestEventsRequest { events: sent }).await.unwrap();
    assert_eq!(answer.into_inner().accepted, 3);
    app.start(Svc::Work).await;

    assert!(
        eventually(Duration::from_secs(10), || async { outbox_rows(&app).await == 0 }).await,
        "the restarted relay sent the rows again and deleted them"
    );
    let events = feed(&c, &owner).await;
    assert_eq!(types(&events), ["project.created", "task.created", "task.created"], "each once");
    app.shutdown().await;
}

/// A change whose transaction commits after a later change has reached the feed, and after a
/// reader has read past it, still reaches that reader, and a subscriber of WatchEvents too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_commit_reaches_a_reader_that_passed_a_later_event() {
    let app = TestApp::spawn().await;
    let c = app.clients();
    let owner = c.owner("owner").await;
    let mut watch = c
        .events
        .clone()
        .watch_events(owner.req(WatchEventsRequest { after: String::new(), types: work_types() }))
        .await
        .unwrap()
        .into_inner();
    let mut watched = Vec::new();
    let mut next_watched = async || loop {
        let item =
            tokio::time::timeout(Duration::from_secs(10), watch.next()).await.unwrap().unwrap().unwrap();
        if let Some(Item::Event(e)) = item.item {
            return e;
        }
    };
    // A slow transaction: its event (the earlier id) is written, not yet committed.
    let mut slow = app.sql().await;
    let tx = slow.transaction().await.unwrap();
    let early = uuid::Uuid::now_v7();
    tx.execute(
        "INSERT INTO work_event_outbox (id, organization_id, type, actor_type, actor_id, data) \
         VALUES ($1::text::uuid, $2::text::uuid, 'project.updated', 'USER', $3::text::uuid, '{\"id\": \"slow\"}')",
        &[&early.to_string(), &owner.org.to_string(), &owner.user.id],
    )
    .await
    .unwrap();
    // A later change commits first and is read.
    c.project(&owner, "Fast").await;
    let read = feed_of(&c, &owner, 1).await;
    assert_eq!(types(&read), ["project.created"]);
    assert!(read[0].id.parse::<uuid::Uuid>().unwrap() > early, "the later id was read first");
    let cursor = read[0].cursor.clone();

    tx.commit().await.unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let after = loop {
        let request = ListEventsRequest { after: cursor.clone(), types: work_types(), limit: 10 };
        let after = c.events.clone().list_events(owner.req(request)).await.unwrap().into_inner().events;
        if !after.is_empty() || tokio::time::Instant::now() > deadline {
            break after;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(after.iter().map(|e| e.id.clone()).collect::<Vec<_>>(), [early.to_string()]);
    // The subscriber, watching since before both: the later event, then the late one.
    watched.push(next_watched().await.id);
    watched.push(next_watched().await.id);
    assert_eq!(watched, [read[0].id.clone(), early.to_string()]);
    app.shutdown().await;
}

/// A backlog larger than one gRPC message allows (gRPC servers take 4 MiB): 120 tasks with
/// descriptions of 10,000 four-byte characters (~40 KB each, ~5 MB in all) created while the
/// events service is down all reach the feed, in several `IngestEvents` calls.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backlog_larger_than_one_message_is_relayed_in_several_calls() {
    let mut app = TestApp::spawn().await;
    let c = app.clients();
    let owner = c.owner("owner").await;
    let project = c.project(&owner, "Large").await;
    app.events_relayed().await;
    app.stop(Svc::Events).await;
    let description = "\u{1D11E}".repeat(10_000);
    for i in 0..120 {
        let request = CreateTaskRequest {
            project_id: project.id.clone(),
            title: format!("Large {i}"),
            description: Some(description.clone()),
            ..Default::default()
        };
        c.tasks.clone().create_task(owner.req(request)).await.unwrap();
    }
    assert_eq!(outbox_rows(&app).await, 120);
    app.start(Svc::Events).await;
    app.events_relayed().await;
    let events = feed_of(&c, &owner, 121).await;
    assert_eq!(events.len(), 121, "project.created and the 120 task.created");
    assert!(events[1..].iter().all(|e| data(e)["description"].as_str() == Some(description.as_str())));
    app.shutdown().await;
}
