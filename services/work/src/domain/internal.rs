//! Operations for other services: usage counts for plan downgrade checks and the purge of a
//! deleted organization's work.

use diesel_async::AsyncConnection;
use operant_platform::db::{self, PgPool};
use uuid::Uuid;

use crate::error::WorkError;
use crate::repo::{projects, tasks};

/// What a purge removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Purged {
    pub projects: i64,
    pub tasks: i64,
}

/// Service-to-service operations.
#[derive(Clone)]
pub struct Internal {
    pool: PgPool,
}

impl Internal {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }

    /// Number of projects of the organization.
    pub async fn project_count(&self, organization_id: Uuid) -> Result<i64, WorkError> {
        let mut conn = db::conn(&self.pool).await?;
        Ok(projects::count(&mut conn, organization_id).await?)
    }

    /// Deletes every task and project of the organization (tasks first, to count them; the
    /// cascade would take them anyway). Running it again deletes nothing and succeeds.
    pub async fn purge(&self, organization_id: Uuid) -> Result<Purged, WorkError> {
        let mut conn = db::conn(&self.pool).await?;
        conn.transaction(async |conn| {
            let tasks = tasks::delete_all(conn, organization_id).await?;
            let projects = projects::delete_all(conn, organization_id).await?;
            Ok::<_, WorkError>(Purged { projects: projects as i64, tasks: tasks as i64 })
        })
        .await
    }
}
