//! `operant.work.v1.WorkInternalService` (service credential only; enforced by the access
//! policy before a handler runs).

use operant_proto::work::v1::work_internal_service_server::WorkInternalService;
use operant_proto::work::v1::*;
use tonic::{Request, Response, Status};

use super::convert::uuid;
use crate::domain::internal::Internal;

/// The WorkInternalService handlers.
pub struct InternalApi {
    pub internal: Internal,
}

#[tonic::async_trait]
impl WorkInternalService for InternalApi {
    async fn get_organization_usage(
        &self,
        request: Request<GetOrganizationUsageRequest>,
    ) -> Result<Response<GetOrganizationUsageResponse>, Status> {
        let org = uuid("organization_id", &request.get_ref().organization_id)?;
        let projects = self.internal.project_count(org).await?;
        Ok(Response::new(GetOrganizationUsageResponse { projects }))
    }

    async fn purge_organization(
        &self,
        request: Request<PurgeOrganizationRequest>,
    ) -> Result<Response<PurgeOrganizationResponse>, Status> {
        let org = uuid("organization_id", &request.get_ref().organization_id)?;
        let purged = self.internal.purge(org).await?;
        tracing::info!(organization_id = %org, projects = purged.projects, tasks = purged.tasks, "purged organization");
        Ok(Response::new(PurgeOrganizationResponse {
            projects_deleted: purged.projects,
            tasks_deleted: purged.tasks,
        }))
    }
}
