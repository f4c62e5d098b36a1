//! Tasks: any member may view and create them in a project of the organization; the creator,
//! the assignee or an ADMIN+ may change one; the creator or an ADMIN+ may delete one. An
//! assignee must be a member of the organization (asked of tenancy).

use chrono::{DateTime, Utc};
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel_async::AsyncConnection;
use operant_platform::db::{self, PgPool};
use operant_platform::idempotency::{self, Answer};
use operant_platform::paging::{Page, Paged};
use uuid::Uuid;

use super::{Standing, check, delete_row, description, get_row, title, update_row, versioned};
use crate::error::WorkError;
use crate::events::{self, OutboxEvent, Relay};
use crate::model::{NewTask, Task, TaskChanges, TaskFilter};
use crate::peers::Peers;
use crate::repo::tasks::{self as repo, TaskSort};

/// Task operations.
#[derive(Clone)]
pub struct Tasks {
    pool: PgPool,
    peers: Peers,
    idempotency: idempotency::Store,
    relay: Relay,
    /// The one-statement insert of a task with a fresh key ([`repo::claimed_insert_sql`]).
    claimed_insert: Option<std::sync::Arc<str>>,
}

impl Tasks {
    pub fn new(pool: PgPool, peers: Peers, idempotency: idempotency::Store, relay: Relay) -> Self {
        let claimed_insert = repo::claimed_insert_sql(&idempotency).map(Into::into);
        Self { pool, peers, idempotency, relay, claimed_insert }
    }

    async fn check_assignee(&self, who: &Standing, assignee: Option<Uuid>) -> Result<(), WorkError> {
        match assignee {
            Some(user_id) if !self.peers.is_member(user_id, who.organization_id).await? => {
                Err(WorkError::AssigneeNotMember)
            }
            _ => Ok(()),
        }
    }

    /// Creates a task in a project of the caller's organization; with a `key`, kept and replayed
    /// like [`Projects::create`](super::projects::Projects::create).
    pub async fn create<M: prost::Message + Default + Send>(
        &self,
        who: &Standing,
        new: NewTask,
        key: Option<&idempotency::Key>,
        respond: impl Fn(Task) -> M + Send + Sync,
    ) -> Result<Answer<M>, WorkError> {
        let mut violations = Vec::new();
        let new = NewTask { title: title("title", &new.title, &mut violations), ..new };
        description(new.description.as_deref(), &mut violations);
        check(violations)?;
        self.check_assignee(who, new.assignee_id).await?;
        let mut conn = db::conn(&self.pool).await?;
        // The task is made whole here (its id and times; PostgreSQL keeps microseconds), so it and
        // its `task.created` event are written by ONE statement. The composite foreign key
        // (organization_id, project_id) refuses a project that does not exist in this
        // organization, race-free, in that same statement.
        let task = whole_task(who, &new);
        let event = OutboxEvent::new(who, "task.created".into(), events::task_data(&task), vec![]);
        let Some(key) = key else {
            match repo::insert_with_event(&mut conn, &task, &event).await {
                Err(DieselError::DatabaseError(DatabaseErrorKind::ForeignKeyViolation, _)) => {
                    return Err(WorkError::ProjectNotFound);
                }
                other => other?,
            }
            self.relay.hint();
            return Ok(Answer { message: respond(task), replayed: false });
        };
        let store = &self.idempotency;
        // The fast path of a fresh key: the task's answer encoded, and task, key, answer and event
        // written by one statement. A key already taken or a refused insert fall through to the
        // general path.
        if let Some(sql) = &self.claimed_insert {
            let message = respond(task.clone());
            let body = message.encode_to_vec();
            match repo::insert_claimed(&mut conn, sql, store, key, &task, &body, &event).await {
                Ok(true) => {
                    self.relay.hint();
                    return Ok(Answer { message, replayed: false });
                }
                Ok(false) | Err(DieselError::DatabaseError(DatabaseErrorKind::ForeignKeyViolation, _)) => {}
                Err(e) => return Err(e.into()),
            }
        }
        let insert = async |conn: &mut diesel_async::AsyncPgConnection| {
            let task =
                match repo::insert(conn, who.organization_id, (who.actor_id, who.actor_type), &new).await {
                    Err(DieselError::DatabaseError(DatabaseErrorKind::ForeignKeyViolation, _)) => {
                        return Err(WorkError::ProjectNotFound);
                    }
                    other => other?,
                };
            let event = OutboxEvent::new(who, "task.created".into(), events::task_data(&task), vec![]);
            events::record(conn, &event).await?;
            Ok(task)
        };
        let answer = conn
            .transaction(async |conn| {
                if let Some(stored) = store.begin(conn, Some(key)).await? {
                    return Ok(stored.replay());
                }
                let result = conn.transaction(async |conn| insert(conn).await).await;
                store.finish(conn, Some(key), result, &respond).await
            })
            .await?;
        self.relay.hint();
        answer
    }

    pub async fn get(&self, who: &Standing, id: Uuid) -> Result<Task, WorkError> {
        get_row(&self.pool, who, id).await
    }

    /// Lists tasks (the filter already validated); a `project_id` that is not a project of the
    /// organization is 404. The project check is pipelined with the count and the page: one
    /// round trip to PostgreSQL.
    pub async fn list(
        &self,
        who: &Standing,
        filter: &TaskFilter,
        page: &Page<TaskSort>,
    ) -> Result<Paged<Task>, WorkError> {
        let mut conn = db::conn(&self.pool).await?;
        match repo::list_checked(&mut conn, who.organization_id, filter, page).await? {
            Some(paged) => Ok(paged),
            None => Err(WorkError::ProjectNotFound),
        }
    }

    /// Applies `changes` (creator, assignee or ADMIN+), only at `expected_version` when given.
    pub async fn update(
        &self,
        who: &Standing,
        id: Uuid,
        changes: TaskChanges,
        expected_version: Option<i64>,
    ) -> Result<Task, WorkError> {
        let mut violations = Vec::new();
        let changes =
            TaskChanges { title: changes.title.map(|t| title("title", &t, &mut violations)), ..changes };
        description(changes.description.as_ref().and_then(|d| d.as_deref()), &mut violations);
        check(violations)?;
        self.check_assignee(who, changes.assignee_id.flatten()).await?;
        update_row(&self.pool, &self.relay, who, id, &changes, expected_version, |current: &Task| {
            if who.is_admin || current.created_by == who.actor_id || current.assignee_id == Some(who.actor_id)
            {
                Ok(())
            } else {
                Err(who.refuse(WorkError::InsufficientRole(
                    "only the task's creator, its assignee or an admin may change it",
                )))
            }
        })
        .await
    }

    /// Deletes a task (creator or ADMIN+), only at `expected_version` when given.
    pub async fn delete(
        &self,
        who: &Standing,
        id: Uuid,
        expected_version: Option<i64>,
    ) -> Result<(), WorkError> {
        delete_row(&self.pool, &self.relay, who, id, expected_version, |current: &Task| {
            if who.is_admin || current.created_by == who.actor_id {
                Ok(())
            } else {
                Err(who
                    .refuse(WorkError::InsufficientRole("only the task's creator or an admin may delete it")))
            }
        })
        .await
    }
}

versioned!(Task, TaskChanges, tasks, WorkError::TaskNotFound, "task", events::task_data);

/// `t` at the microsecond PostgreSQL keeps (what a read of the stored row gives back).
fn micros(t: DateTime<Utc>) -> DateTime<Utc> {
    use chrono::Timelike;
    t.with_nanosecond(t.nanosecond() / 1_000 * 1_000).unwrap_or(t)
}

/// The task `new` becomes when `who` creates it now: a fresh UUIDv7, version 1, its times at
/// microsecond precision (what PostgreSQL keeps), as the insert's `RETURNING` would show it.
fn whole_task(who: &Standing, new: &NewTask) -> Task {
    let now = micros(Utc::now());
    Task {
        id: Uuid::now_v7(),
        organization_id: who.organization_id,
        project_id: new.project_id,
        title: new.title.clone(),
        description: new.description.clone(),
        status: new.status.as_db().to_owned(),
        priority: new.priority.as_db(),
        assignee_id: new.assignee_id,
        due_date: new.due_date.map(micros),
        created_by: who.actor_id,
        created_at: now,
        updated_at: now,
        version: 1,
        actor_type: who.actor_type.to_owned(),
    }
}
