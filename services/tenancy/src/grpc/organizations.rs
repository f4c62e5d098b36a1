//! `OrganizationService`.

use operant_platform::paging::Page;
use operant_proto::tenancy::v1::organization_service_server::OrganizationService;
use operant_proto::tenancy::v1::*;
use tonic::{Request, Response, Status};

use super::{actor, convert, idempotency_key, parse_id, user_id};
use crate::domain::Actor;
use crate::domain::Tenancy;
use crate::repo::organizations::OrganizationSort;

/// The `OrganizationService` handlers.
pub struct OrganizationApi {
    pub domain: Tenancy,
}

#[tonic::async_trait]
impl OrganizationService for OrganizationApi {
    async fn create_organization(
        &self,
        request: Request<CreateOrganizationRequest>,
    ) -> Result<Response<CreateOrganizationResponse>, Status> {
        let user = user_id(&request)?;
        let m = request.into_inner();
        let route = "/operant.tenancy.v1.OrganizationService/CreateOrganization";
        let key = idempotency_key(&Actor::User(user), route, &m, &m.request_id, |m| m.request_id.clear())?;
        let answer = self
            .domain
            .create_organization(user, &m.name, &m.slug, key.as_ref(), |organization| {
                CreateOrganizationResponse { organization: Some(convert::organization(organization)) }
            })
            .await?;
        Ok(answer.into_response())
    }

    async fn list_organizations(
        &self,
        request: Request<ListOrganizationsRequest>,
    ) -> Result<Response<ListOrganizationsResponse>, Status> {
        let user = user_id(&request)?;
        let tokens = self.domain.page_tokens();
        let page = Page::<OrganizationSort>::parse(request.get_ref().page.as_ref(), tokens, &user)?;
        let paged = self.domain.list_organizations(user, &page).await?;
        Ok(Response::new(ListOrganizationsResponse {
            page: Some(page.info(&paged)),
            organizations: paged.items.into_iter().map(convert::organization).collect(),
        }))
    }

    async fn get_organization(
        &self,
        request: Request<GetOrganizationRequest>,
    ) -> Result<Response<GetOrganizationResponse>, Status> {
        let actor = actor(&request)?;
        let organization_id = parse_id("organization_id", &request.get_ref().organization_id)?;
        let organization = self.domain.get_organization(organization_id, &actor).await?;
        Ok(Response::new(GetOrganizationResponse { organization: Some(convert::organization(organization)) }))
    }

    async fn update_organization(
        &self,
        request: Request<UpdateOrganizationRequest>,
    ) -> Result<Response<UpdateOrganizationResponse>, Status> {
        let actor = actor(&request)?;
        let m = request.into_inner();
        let organization_id = parse_id("organization_id", &m.organization_id)?;
        let organization = self
            .domain
            .update_organization(organization_id, &actor, m.name.as_deref(), m.slug.as_deref())
            .await?;
        Ok(Response::new(UpdateOrganizationResponse {
            organization: Some(convert::organization(organization)),
        }))
    }

    async fn delete_organization(
        &self,
        request: Request<DeleteOrganizationRequest>,
    ) -> Result<Response<DeleteOrganizationResponse>, Status> {
        let actor = actor(&request)?;
        let organization_id = parse_id("organization_id", &request.get_ref().organization_id)?;
        self.domain.delete_organization(organization_id, &actor).await?;
        Ok(Response::new(DeleteOrganizationResponse {}))
    }
}
