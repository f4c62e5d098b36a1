//! `TenancyInternalService` (service token only; enforced by the platform's access policy).

use operant_proto::tenancy::v1::tenancy_internal_service_server::TenancyInternalService;
use operant_proto::tenancy::v1::*;
use tonic::{Request, Response, Status};

use super::{convert, parse_id};
use crate::domain::Tenancy;

/// The `TenancyInternalService` handlers.
pub struct InternalApi {
    pub domain: Tenancy,
}

#[tonic::async_trait]
impl TenancyInternalService for InternalApi {
    async fn authorize(
        &self,
        request: Request<AuthorizeRequest>,
    ) -> Result<Response<AuthorizeResponse>, Status> {
        let m = request.get_ref();
        let user_id = parse_id("user_id", &m.user_id)?;
        let organization_id = parse_id("organization_id", &m.organization_id)?;
        let standing = self.domain.authorize(organization_id, user_id).await?;
        Ok(Response::new(convert::authorization(standing)))
    }

    async fn check_membership(
        &self,
        request: Request<CheckMembershipRequest>,
    ) -> Result<Response<CheckMembershipResponse>, Status> {
        let m = request.get_ref();
        let user_id = parse_id("user_id", &m.user_id)?;
        let organization_id = parse_id("organization_id", &m.organization_id)?;
        let member = self.domain.check_membership(organization_id, user_id).await?;
        Ok(Response::new(CheckMembershipResponse { member }))
    }
}
