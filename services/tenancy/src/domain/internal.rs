//! Answers for the other services (`TenancyInternalService`): a user's (or an API key's)
//! standing in an organization and plain membership checks. Both read the database on every
//! call (one primary-key lookup); nothing is cached, so a removed member or a revoked key loses
//! access immediately. API-key resolution and its revocation stream live in `api_keys`.

use uuid::Uuid;

use super::{Actor, Standing, Tenancy};
use crate::error::TenancyError;
use crate::repo::memberships;

impl Tenancy {
    /// The actor's role and the organization's plan; 403 `NOT_A_MEMBER` otherwise.
    pub async fn authorize(&self, organization_id: Uuid, actor: &Actor) -> Result<Standing, TenancyError> {
        self.standing_now(organization_id, actor).await
    }

    /// Whether the user is a member of the organization.
    pub async fn check_membership(&self, organization_id: Uuid, user_id: Uuid) -> Result<bool, TenancyError> {
        let mut conn = self.conn().await?;
        Ok(memberships::find(&mut conn, organization_id, user_id).await?.is_some())
    }
}
