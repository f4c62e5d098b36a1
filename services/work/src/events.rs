//! The work service's events (`project.created|updated|deleted`, `task.created|updated|deleted`)
//! and its transactional outbox `work_event_outbox`: [`record`] writes an event in the
//! transaction of the change it describes, and the relay of [`operant_platform::outbox`]
//! (shared with tenancy) sends the outbox to the events service's `IngestEvents` and deletes
//! what it accepted, safely on several replicas (`FOR UPDATE SKIP LOCKED`, at least once; the
//! feed keeps each event once).

use chrono::{DateTime, SecondsFormat, Utc};
use diesel_async::AsyncPgConnection;
pub use operant_platform::outbox::OutboxEvent;
use operant_platform::outbox::{self, EventActor, Outbox};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::model::{Priority, Project, Standing, Task};

/// The work service's outbox table.
pub const TABLE: &str = "work_event_outbox";

/// The relay's wake-up (and the outbox's statements): the domain hints after each commit that
/// recorded an event.
pub type Relay = Outbox;

/// The outbox of the work service.
pub fn relay() -> Relay {
    Outbox::new(TABLE)
}

impl EventActor for Standing {
    fn organization_id(&self) -> Uuid {
        self.organization_id
    }
    fn actor_type(&self) -> &str {
        self.actor_type
    }
    fn actor_id(&self) -> Option<Uuid> {
        Some(self.actor_id)
    }
}

fn time(t: DateTime<Utc>) -> Value {
    Value::String(t.to_rfc3339_opts(SecondsFormat::Micros, true))
}

fn priority(p: i16) -> &'static str {
    match Priority::from_db(p) {
        Some(Priority::Low) => "LOW",
        Some(Priority::Medium) => "MEDIUM",
        Some(Priority::High) => "HIGH",
        Some(Priority::Urgent) => "URGENT",
        None => "UNSPECIFIED",
    }
}

/// A project as an event carries it: the REST representation.
pub fn project_data(p: &Project) -> Value {
    json!({
        "id": p.id, "organization_id": p.organization_id, "name": p.name, "description": p.description,
        "created_by": p.created_by, "actor_type": p.actor_type,
        "created_at": time(p.created_at), "updated_at": time(p.updated_at), "version": p.version,
    })
}

/// A task as an event carries it: the REST representation.
pub fn task_data(t: &Task) -> Value {
    json!({
        "id": t.id, "organization_id": t.organization_id, "project_id": t.project_id, "title": t.title,
        "description": t.description, "status": t.status, "priority": priority(t.priority),
        "assignee_id": t.assignee_id, "due_date": t.due_date.map(time),
        "created_by": t.created_by, "actor_type": t.actor_type,
        "created_at": time(t.created_at), "updated_at": time(t.updated_at), "version": t.version,
    })
}

/// The names of the fields whose value differs between two representations (the version and
/// `updated_at`, which every update moves, left out), sorted.
pub fn changed_fields(before: &Value, after: &Value) -> Vec<String> {
    let (Some(before), Some(after)) = (before.as_object(), after.as_object()) else { return vec![] };
    let mut changed: Vec<String> = after
        .iter()
        .filter(|(k, v)| !matches!(k.as_str(), "version" | "updated_at") && before.get(*k) != Some(*v))
        .map(|(k, _)| k.clone())
        .collect();
    changed.sort();
    changed
}

/// Writes `event` to the outbox, inside the caller's transaction.
pub async fn record(conn: &mut AsyncPgConnection, event: &OutboxEvent) -> diesel::QueryResult<()> {
    outbox::record(conn, TABLE, event).await
}
