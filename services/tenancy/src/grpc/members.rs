//! `MemberService`.

use operant_platform::paging::Page;
use operant_platform::principal::organization_id as header_organization_id;
use operant_proto::tenancy::v1::member_service_server::MemberService;
use operant_proto::tenancy::v1::*;
use tonic::{Request, Response, Status};

use super::{actor, convert, idempotency_key, invitations, parse_id, user_id};
use crate::domain::Actor;
use crate::domain::{MemberSort, Tenancy};
use crate::error::TenancyError;
use crate::plans::Role;

/// The `MemberService` handlers.
pub struct MemberApi {
    pub domain: Tenancy,
}

fn role(value: i32) -> Result<Role, TenancyError> {
    Role::from_proto(value).ok_or_else(|| TenancyError::invalid("role", "must be OWNER, ADMIN or MEMBER"))
}

#[tonic::async_trait]
impl MemberService for MemberApi {
    async fn list_members(
        &self,
        request: Request<ListMembersRequest>,
    ) -> Result<Response<ListMembersResponse>, Status> {
        let actor = actor(&request)?;
        let m = request.get_ref();
        let organization_id = parse_id("organization_id", &m.organization_id)?;
        let scope = ("members", organization_id);
        let page = Page::<MemberSort>::parse(m.page.as_ref(), self.domain.page_tokens(), &scope)?;
        let paged = self.domain.list_members(organization_id, &actor, &page).await?;
        Ok(Response::new(ListMembersResponse {
            page: Some(page.info(&paged)),
            members: paged.items.into_iter().map(convert::member).collect(),
        }))
    }

    async fn add_member(
        &self,
        request: Request<AddMemberRequest>,
    ) -> Result<Response<AddMemberResponse>, Status> {
        // Deprecated alias of CreateInvitation: no route tells whether an address is registered.
        let user = user_id(&request)?;
        let m = request.get_ref();
        let organization_id = parse_id("organization_id", &m.organization_id)?;
        let (email, role) = (invitations::email(&m.email)?, invitations::invited_role(m.role)?);
        let route = "/operant.tenancy.v1.MemberService/AddMember";
        let key = idempotency_key(&Actor::User(user), route, m, &m.request_id, |m| m.request_id.clear())?;
        let answer = self
            .domain
            .create_invitation(organization_id, user, email, role, key.as_ref(), |invitation| {
                #[allow(deprecated)]
                AddMemberResponse { member: None, invitation: Some(convert::invitation(invitation)) }
            })
            .await?;
        Ok(answer.into_response())
    }

    async fn update_member(
        &self,
        request: Request<UpdateMemberRequest>,
    ) -> Result<Response<UpdateMemberResponse>, Status> {
        let actor = actor(&request)?;
        let m = request.get_ref();
        let organization_id = parse_id("organization_id", &m.organization_id)?;
        let member_id = parse_id("user_id", &m.user_id)?;
        let role = role(m.role)?;
        let member = self.domain.update_member(organization_id, &actor, member_id, role).await?;
        Ok(Response::new(UpdateMemberResponse { member: Some(convert::member(member)) }))
    }

    async fn remove_member(
        &self,
        request: Request<RemoveMemberRequest>,
    ) -> Result<Response<RemoveMemberResponse>, Status> {
        let actor = actor(&request)?;
        let m = request.get_ref();
        let organization_id = parse_id("organization_id", &m.organization_id)?;
        let member_id = parse_id("user_id", &m.user_id)?;
        self.domain.remove_member(organization_id, &actor, member_id).await?;
        Ok(Response::new(RemoveMemberResponse {}))
    }

    async fn transfer_ownership(
        &self,
        request: Request<TransferOwnershipRequest>,
    ) -> Result<Response<TransferOwnershipResponse>, Status> {
        let actor = actor(&request)?;
        let m = request.get_ref();
        let organization_id = parse_id("organization_id", &m.organization_id)?;
        let new_owner = parse_id("user_id", &m.user_id)?;
        let route = "/operant.tenancy.v1.MemberService/TransferOwnership";
        let key = idempotency_key(&actor, route, m, &m.request_id, |m| m.request_id.clear())?;
        let answer = self
            .domain
            .transfer_ownership(organization_id, &actor, new_owner, key.as_ref(), |()| {
                TransferOwnershipResponse {}
            })
            .await?;
        Ok(answer.into_response())
    }

    async fn list_organization_users(
        &self,
        request: Request<ListOrganizationUsersRequest>,
    ) -> Result<Response<ListOrganizationUsersResponse>, Status> {
        let actor = actor(&request)?;
        let organization_id = header_organization_id(&request).map_err(TenancyError::from)?;
        let scope = ("users", organization_id);
        let page =
            Page::<MemberSort>::parse(request.get_ref().page.as_ref(), self.domain.page_tokens(), &scope)?;
        let paged = self.domain.list_organization_users(organization_id, &actor, &page).await?;
        Ok(Response::new(ListOrganizationUsersResponse {
            page: Some(page.info(&paged)),
            members: paged.items.into_iter().map(convert::member).collect(),
        }))
    }
}
