//! The work service's domain types: rows as stored, the values of a create or an update, list
//! filters, and the caller's standing in the organization. They are free of proto, so the
//! domain rules read in terms of the business, not of the wire. Of diesel only the rows know:
//! [`Project`] and [`Task`] derive `Queryable`/`Selectable` for their tables, so the repo reads
//! them directly; turning the other types into queries is the repo's business.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use crate::error::WorkError;

use crate::schema::{projects, tasks};

/// A project row.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = projects, check_for_backend(diesel::pg::Pg))]
pub struct Project {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub name: String,
    pub description: Option<String>,
    pub created_by: Uuid,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
    /// What `created_by` names: `USER` or `API_KEY`.
    pub actor_type: String,
}

/// A task row.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = tasks, check_for_backend(diesel::pg::Pg))]
pub struct Task {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub project_id: Uuid,
    pub title: String,
    pub description: Option<String>,
    pub status: String,
    pub priority: i16,
    pub assignee_id: Option<Uuid>,
    pub due_date: Option<DateTime<Utc>>,
    pub created_by: Uuid,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
    /// What `created_by` names: `USER` or `API_KEY`.
    pub actor_type: String,
}

/// Task status as stored (`tasks.status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Todo,
    InProgress,
    Done,
}

impl Status {
    pub fn as_db(self) -> &'static str {
        match self {
            Status::Todo => "TODO",
            Status::InProgress => "IN_PROGRESS",
            Status::Done => "DONE",
        }
    }

    pub fn from_db(s: &str) -> Option<Self> {
        match s {
            "TODO" => Some(Status::Todo),
            "IN_PROGRESS" => Some(Status::InProgress),
            "DONE" => Some(Status::Done),
            _ => None,
        }
    }
}

/// Task priority as stored (`tasks.priority`, 1..=4 so that ordering by it is meaningful).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Priority {
    Low = 1,
    Medium = 2,
    High = 3,
    Urgent = 4,
}

impl Priority {
    pub fn as_db(self) -> i16 {
        self as i16
    }

    pub fn from_db(v: i16) -> Option<Self> {
        match v {
            1 => Some(Priority::Low),
            2 => Some(Priority::Medium),
            3 => Some(Priority::High),
            4 => Some(Priority::Urgent),
            _ => None,
        }
    }
}

/// The caller's standing in the organization, as answered by tenancy's `Authorize`.
#[derive(Debug, Clone, Copy)]
pub struct Standing {
    /// The user, or the organization API key, acting.
    pub actor_id: Uuid,
    /// `USER` or `API_KEY`, recorded with what the actor creates.
    pub actor_type: &'static str,
    pub organization_id: Uuid,
    /// OWNER or ADMIN.
    pub is_admin: bool,
    /// The plan's project limit.
    pub max_projects: i64,
    /// Answered by the standing cache rather than by tenancy just now.
    pub cached: bool,
}

impl Standing {
    /// `refusal`, unless the standing it rests on came from the cache: then
    /// [`WorkError::StaleStanding`], and the transport asks tenancy afresh and runs the call
    /// again. A refusal is never decided on a cached answer, so a member promoted (or a plan
    /// upgraded) a moment ago is not refused; what the cache may still allow for up to
    /// [`crate::standings::FRESHNESS`] after a change is the documented bound.
    pub fn refuse(&self, refusal: WorkError) -> WorkError {
        if self.cached { WorkError::StaleStanding } else { refusal }
    }
}

/// A new project.
#[derive(Debug, Clone)]
pub struct NewProject {
    pub name: String,
    pub description: Option<String>,
}

/// Changes to a project; `None` leaves a field alone.
#[derive(Debug, Clone, Default)]
pub struct ProjectChanges {
    pub name: Option<String>,
    pub description: Option<Option<String>>,
}

impl ProjectChanges {
    pub fn is_empty(&self) -> bool {
        self.name.is_none() && self.description.is_none()
    }
}

/// A new task.
#[derive(Debug, Clone)]
pub struct NewTask {
    pub project_id: Uuid,
    pub title: String,
    pub description: Option<String>,
    pub status: Status,
    pub priority: Priority,
    pub assignee_id: Option<Uuid>,
    pub due_date: Option<DateTime<Utc>>,
}

/// Changes to a task; `None` leaves a field alone, `Some(None)` clears a nullable one.
#[derive(Debug, Clone, Default)]
pub struct TaskChanges {
    pub title: Option<String>,
    pub description: Option<Option<String>>,
    pub status: Option<Status>,
    pub priority: Option<Priority>,
    pub assignee_id: Option<Option<Uuid>>,
    pub due_date: Option<Option<DateTime<Utc>>>,
}

impl TaskChanges {
    pub fn is_empty(&self) -> bool {
        self.title.is_none()
            && self.description.is_none()
            && self.status.is_none()
            && self.priority.is_none()
            && self.assignee_id.is_none()
            && self.due_date.is_none()
    }
}

/// Filters of ListProjects.
#[derive(Debug, Clone, Default)]
pub struct ProjectFilter {
    pub q: Option<String>,
    pub created_by: Option<Uuid>,
}

/// Filters of ListTasks.
#[derive(Debug, Clone, Default)]
pub struct TaskFilter {
    pub project_id: Option<Uuid>,
    pub statuses: Vec<Status>,
    pub priorities: Vec<Priority>,
    pub assignee_id: Option<Uuid>,
    pub due_before: Option<DateTime<Utc>>,
    pub due_after: Option<DateTime<Utc>>,
    pub q: Option<String>,
}
