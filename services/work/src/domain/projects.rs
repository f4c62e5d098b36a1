//! Projects: any member may view and create (within the plan's project limit); the creator or
//! an ADMIN+ may change or delete one.

use diesel_async::AsyncConnection;
use operant_platform::db::{self, PgPool, lock_quota};
use operant_platform::idempotency::{self, Answer};
use operant_platform::paging::{Page, Paged};
use uuid::Uuid;

use super::{Standing, check, delete_row, description, get_row, title, update_row, versioned};
use crate::error::WorkError;
use crate::events::{self, OutboxEvent, Relay};
use crate::model::{NewProject, Project, ProjectChanges, ProjectFilter};
use crate::repo::projects::{self as repo, ProjectSort};

/// The quota name of projects for [`lock_quota`].
const QUOTA: &str = "projects";

/// Project operations.
#[derive(Clone)]
pub struct Projects {
    pool: PgPool,
    idempotency: idempotency::Store,
    relay: Relay,
}

fn may_change(who: &Standing, project: &Project) -> Result<(), WorkError> {
    if who.is_admin || project.created_by == who.actor_id {
        Ok(())
    } else {
        Err(who.refuse(WorkError::InsufficientRole("only the project's creator or an admin may change it")))
    }
}

impl Projects {
    pub fn new(pool: PgPool, idempotency: idempotency::Store, relay: Relay) -> Self {
        Self { pool, idempotency, relay }
    }

    /// Creates a project. The count-and-insert runs under the organization's project quota lock,
    /// so parallel creates at the limit never overshoot it. With a `key`, the answer (as
    /// `respond` makes it) is kept with the project in its transaction and a retry gets it again
    /// (see [`idempotency`]): a limit slot is used once.
    pub async fn create<M: prost::Message + Default + Send>(
        &self,
        who: &Standing,
        new: NewProject,
        key: Option<&idempotency::Key>,
        respond: impl FnOnce(Project) -> M + Send,
    ) -> Result<Answer<M>, WorkError> {
        let mut violations = Vec::new();
        let new =
            NewProject { name: title("name", &new.name, &mut violations), description: new.description };
        description(new.description.as_deref(), &mut violations);
        check(violations)?;
        let org = who.organization_id;
        let max = who.max_projects;
        let mut conn = db::conn(&self.pool).await?;
        let store = &self.idempotency;
        let answer = conn
            .transaction(async |conn| {
                if let Some(stored) = store.begin(conn, key).await? {
                    return Ok(stored.replay());
                }
                let result = conn
                    .transaction(async |conn| {
                        lock_quota(conn, org, QUOTA).await?;
                        if repo::count(conn, org).await? >= max {
                            return Err(who.refuse(WorkError::PlanLimitReached { max }));
                        }
                        let project = repo::insert(conn, org, (who.actor_id, who.actor_type), &new).await?;
                        let event = OutboxEvent::new(
                            who,
                            "project.created".into(),
                            events::project_data(&project),
                            vec![],
                        );
                        events::record(conn, &event).await?;
                        Ok(project)
                    })
                    .await;
                if let Err(WorkError::StaleStanding) = result {
                    // Not kept for replays: the transport asks again with a fresh standing.
                    return Err(WorkError::StaleStanding);
                }
                store.finish(conn, key, result, respond).await
            })
            .await?;
        self.relay.hint();
        answer
    }

    pub async fn get(&self, who: &Standing, id: Uuid) -> Result<Project, WorkError> {
        get_row(&self.pool, who, id).await
    }

    pub async fn list(
        &self,
        who: &Standing,
        filter: &ProjectFilter,
        page: &Page<ProjectSort>,
    ) -> Result<Paged<Project>, WorkError> {
        let mut conn = db::conn(&self.pool).await?;
        Ok(repo::list(&mut conn, who.organization_id, filter, page).await?)
    }

    /// Applies `changes` (creator or ADMIN+), only at `expected_version` when given.
    pub async fn update(
        &self,
        who: &Standing,
        id: Uuid,
        changes: ProjectChanges,
        expected_version: Option<i64>,
    ) -> Result<Project, WorkError> {
        let mut violations = Vec::new();
        let changes = ProjectChanges {
            name: changes.name.map(|n| title("name", &n, &mut violations)),
            description: changes.description,
        };
        description(changes.description.as_ref().and_then(|d| d.as_deref()), &mut violations);
        check(violations)?;
        update_row(&self.pool, &self.relay, who, id, &changes, expected_version, |p| may_change(who, p)).await
    }

    /// Deletes a project and, by the foreign key's cascade, its tasks (creator or ADMIN+).
    pub async fn delete(
        &self,
        who: &Standing,
        id: Uuid,
        expected_version: Option<i64>,
    ) -> Result<(), WorkError> {
        delete_row(&self.pool, &self.relay, who, id, expected_version, |p: &Project| may_change(who, p)).await
    }
}

versioned!(Project, ProjectChanges, projects, WorkError::ProjectNotFound, "project", events::project_data);
