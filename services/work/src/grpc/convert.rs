//! Conversions between proto messages and domain values. Every malformed value (a bad UUID, an
//! unknown enum number, an out-of-range timestamp, an unknown update-mask path) is a 422 naming
//! the field, never a 500.

use chrono::{DateTime, Datelike, Utc};
use operant_proto::common::v1::ActorType;
use operant_proto::work::v1 as pb;
use prost_types::Timestamp;
use uuid::Uuid;

use crate::error::WorkError;
use crate::model::{Priority, Project, Status, Task};

/// A UUID field.
pub fn uuid(field: &str, value: &str) -> Result<Uuid, WorkError> {
    Uuid::parse_str(value.trim()).map_err(|_| WorkError::invalid(field, "must be a UUID"))
}

/// An optional UUID field; an empty string counts as absent.
pub fn opt_uuid(field: &str, value: Option<&str>) -> Result<Option<Uuid>, WorkError> {
    match value.map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => uuid(field, v).map(Some),
    }
}

/// A timestamp field, limited to the years 1..=9999.
pub fn time(field: &str, value: &Timestamp) -> Result<DateTime<Utc>, WorkError> {
    u32::try_from(value.nanos)
        .ok()
        .and_then(|nanos| DateTime::from_timestamp(value.seconds, nanos))
        .filter(|t| (1..=9999).contains(&t.year()))
        .ok_or_else(|| WorkError::invalid(field, "must be a timestamp between the years 1 and 9999"))
}

/// An optional timestamp field.
pub fn opt_time(field: &str, value: Option<&Timestamp>) -> Result<Option<DateTime<Utc>>, WorkError> {
    value.map(|t| time(field, t)).transpose()
}

pub fn timestamp(t: DateTime<Utc>) -> Timestamp {
    Timestamp { seconds: t.timestamp(), nanos: i32::try_from(t.timestamp_subsec_nanos()).unwrap_or(0) }
}

/// A task status; `None` for UNSPECIFIED, 422 for numbers the proto does not know.
pub fn status(field: &str, value: i32) -> Result<Option<Status>, WorkError> {
    match pb::TaskStatus::try_from(value) {
        Ok(pb::TaskStatus::Unspecified) => Ok(None),
        Ok(pb::TaskStatus::Todo) => Ok(Some(Status::Todo)),
        Ok(pb::TaskStatus::InProgress) => Ok(Some(Status::InProgress)),
        Ok(pb::TaskStatus::Done) => Ok(Some(Status::Done)),
        Err(_) => Err(WorkError::invalid(field, format!("unknown status {value}"))),
    }
}

/// A task priority; `None` for UNSPECIFIED, 422 for numbers the proto does not know.
pub fn priority(field: &str, value: i32) -> Result<Option<Priority>, WorkError> {
    match pb::TaskPriority::try_from(value) {
        Ok(pb::TaskPriority::Unspecified) => Ok(None),
        Ok(pb::TaskPriority::Low) => Ok(Some(Priority::Low)),
        Ok(pb::TaskPriority::Medium) => Ok(Some(Priority::Medium)),
        Ok(pb::TaskPriority::High) => Ok(Some(Priority::High)),
        Ok(pb::TaskPriority::Urgent) => Ok(Some(Priority::Urgent)),
        Err(_) => Err(WorkError::invalid(field, format!("unknown priority {value}"))),
    }
}

fn status_to_proto(s: &str) -> pb::TaskStatus {
    match Status::from_db(s) {
        Some(Status::Todo) => pb::TaskStatus::Todo,
        Some(Status::InProgress) => pb::TaskStatus::InProgress,
        Some(Status::Done) => pb::TaskStatus::Done,
        None => pb::TaskStatus::Unspecified,
    }
}

fn priority_to_proto(p: i16) -> pb::TaskPriority {
    match Priority::from_db(p) {
        Some(Priority::Low) => pb::TaskPriority::Low,
        Some(Priority::Medium) => pb::TaskPriority::Medium,
        Some(Priority::High) => pb::TaskPriority::High,
        Some(Priority::Urgent) => pb::TaskPriority::Urgent,
        None => pb::TaskPriority::Unspecified,
    }
}

/// The paths of an update mask, normalised: `task.due_date`, `dueDate` and `due_date` are the
/// same path. An absent mask has no paths.
pub fn mask_paths(mask: Option<&prost_types::FieldMask>, resource: &str) -> Vec<String> {
    mask.map(|m| m.paths.as_slice())
        .unwrap_or_default()
        .iter()
        .flat_map(|p| p.split(','))
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| {
            let p = p.strip_prefix(resource).and_then(|rest| rest.strip_prefix('.')).unwrap_or(p);
            let mut snake = String::with_capacity(p.len() + 2);
            for c in p.chars() {
                if c.is_ascii_uppercase() {
                    snake.push('_');
                    snake.push(c.to_ascii_lowercase());
                } else {
                    snake.push(c);
                }
            }
            snake
        })
        .collect()
}

/// 422 for a path that cannot be updated.
pub fn unknown_path(path: &str, allowed: &str) -> WorkError {
    WorkError::invalid("update_mask", format!("unknown or read-only field `{path}`; updatable: {allowed}"))
}

pub fn project(p: Project) -> pb::Project {
    pb::Project {
        id: p.id.to_string(),
        organization_id: p.organization_id.to_string(),
        name: p.name,
        description: p.description,
        created_by: p.created_by.to_string(),
        created_at: Some(timestamp(p.created_at)),
        updated_at: Some(timestamp(p.updated_at)),
        version: p.version,
        actor_type: actor_type(&p.actor_type).into(),
    }
}

pub fn task(t: Task) -> pb::Task {
    pb::Task {
        id: t.id.to_string(),
        project_id: t.project_id.to_string(),
        organization_id: t.organization_id.to_string(),
        title: t.title,
        description: t.description,
        status: status_to_proto(&t.status).into(),
        priority: priority_to_proto(t.priority).into(),
        assignee_id: t.assignee_id.map(|a| a.to_string()),
        due_date: t.due_date.map(timestamp),
        created_by: t.created_by.to_string(),
        created_at: Some(timestamp(t.created_at)),
        updated_at: Some(timestamp(t.updated_at)),
        version: t.version,
        actor_type: actor_type(&t.actor_type).into(),
    }
}

/// The proto value of a stored `actor_type` (`USER`, `API_KEY`).
fn actor_type(stored: &str) -> ActorType {
    match stored {
        "USER" => ActorType::User,
        "API_KEY" => ActorType::ApiKey,
        _ => ActorType::Unspecified,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_mask_paths() {
        let mask = prost_types::FieldMask { paths: vec!["task.dueDate".into(), "title,assignee_id".into()] };
        assert_eq!(mask_paths(Some(&mask), "task"), ["due_date", "title", "assignee_id"]);
        assert!(mask_paths(None, "task").is_empty());
    }

    #[test]
    fn rejects_bad_values() {
        assert!(uuid("id", "nope").is_err());
        assert!(status("status", 9).is_err());
        assert!(priority("priority", -1).is_err());
        assert!(time("due_date", &Timestamp { seconds: 0, nanos: -1 }).is_err());
        assert!(time("due_date", &Timestamp { seconds: i64::MAX, nanos: 0 }).is_err());
        assert!(time("due_date", &Timestamp { seconds: 0, nanos: 0 }).is_ok());
    }
}
