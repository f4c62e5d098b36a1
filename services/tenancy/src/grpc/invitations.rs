//! `InvitationService`, and the invitation the deprecated `MemberService/AddMember` answers.

use operant_platform::paging::Page;
use operant_proto::tenancy::v1::InvitationStatus as InvitationStatusPb;
use operant_proto::tenancy::v1::invitation_service_server::InvitationService;
use operant_proto::tenancy::v1::*;
use tonic::{Request, Response, Status};

use super::{convert, idempotency_key, parse_id, user_id};
use crate::domain::Actor;
use crate::domain::{InvitationStatus, Tenancy};
use crate::error::TenancyError;
use crate::plans::Role;
use crate::repo::invitations::InvitationSort;

/// The `InvitationService` handlers.
pub struct InvitationApi {
    pub domain: Tenancy,
}

/// The invited address: 422 unless it looks like one (auth normalises and checks it fully).
pub(super) fn email(raw: &str) -> Result<&str, TenancyError> {
    let email = raw.trim();
    // Characters, as the OpenAPI document and PostgreSQL's `length` count them.
    let valid = email.chars().count() <= 320
        && email.split_once('@').is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.'))
        && !email.chars().any(char::is_whitespace);
    if email.is_empty() {
        return Err(TenancyError::invalid("email", "is required"));
    }
    if !valid {
        return Err(TenancyError::invalid("email", "is not a valid email address"));
    }
    Ok(email)
}

/// The invited role: ADMIN or MEMBER.
pub(super) fn invited_role(value: i32) -> Result<Role, TenancyError> {
    match Role::from_proto(value) {
        Some(role @ (Role::Admin | Role::Member)) => Ok(role),
        _ => Err(TenancyError::invalid(
            "role",
            "must be ADMIN or MEMBER (ownership is transferred, not invited)",
        )),
    }
}

fn status_filter(value: i32) -> Result<Option<InvitationStatus>, TenancyError> {
    let status = pb_status(value).ok_or_else(|| {
        TenancyError::invalid("status", "must be PENDING, ACCEPTED, DECLINED, REVOKED or EXPIRED")
    })?;
    Ok(match status {
        InvitationStatusPb::Unspecified => None,
        InvitationStatusPb::Pending => Some(InvitationStatus::Pending),
        InvitationStatusPb::Accepted => Some(InvitationStatus::Accepted),
        InvitationStatusPb::Declined => Some(InvitationStatus::Declined),
        InvitationStatusPb::Revoked => Some(InvitationStatus::Revoked),
        InvitationStatusPb::Expired => Some(InvitationStatus::Expired),
    })
}

fn pb_status(value: i32) -> Option<InvitationStatusPb> {
    InvitationStatusPb::try_from(value).ok()
}

fn token(raw: &str) -> Result<&str, TenancyError> {
    let token = raw.trim();
    if token.is_empty() {
        return Err(TenancyError::invalid("token", "is required"));
    }
    Ok(token)
}

#[tonic::async_trait]
impl InvitationService for InvitationApi {
    async fn create_invitation(
        &self,
        request: Request<CreateInvitationRequest>,
    ) -> Result<Response<CreateInvitationResponse>, Status> {
        let user = user_id(&request)?;
        let m = request.get_ref();
        let organization_id = parse_id("organization_id", &m.organization_id)?;
        let (email, role) = (email(&m.email)?, invited_role(m.role)?);
        let route = "/operant.tenancy.v1.InvitationService/CreateInvitation";
        let key = idempotency_key(&Actor::User(user), route, m, &m.request_id, |m| m.request_id.clear())?;
        let answer = self
            .domain
            .create_invitation(organization_id, user, email, role, key.as_ref(), |invitation| {
                CreateInvitationResponse { invitation: Some(convert::invitation(invitation)) }
            })
            .await?;
        Ok(answer.into_response())
    }

    async fn list_invitations(
        &self,
        request: Request<ListInvitationsRequest>,
    ) -> Result<Response<ListInvitationsResponse>, Status> {
        let user = user_id(&request)?;
        let m = request.get_ref();
        let organization_id = parse_id("organization_id", &m.organization_id)?;
        let status = status_filter(m.status)?;
        let scope = (organization_id, status);
        let page = Page::<InvitationSort>::parse(m.page.as_ref(), self.domain.page_tokens(), &scope)?;
        let paged = self.domain.list_invitations(organization_id, user, status, &page).await?;
        Ok(Response::new(ListInvitationsResponse {
            page: Some(page.info(&paged)),
            invitations: paged.items.into_iter().map(convert::invitation).collect(),
        }))
    }

    async fn revoke_invitation(
        &self,
        request: Request<RevokeInvitationRequest>,
    ) -> Result<Response<RevokeInvitationResponse>, Status> {
        let user = user_id(&request)?;
        let m = request.get_ref();
        let organization_id = parse_id("organization_id", &m.organization_id)?;
        let invitation_id = parse_id("invitation_id", &m.invitation_id)?;
        self.domain.revoke_invitation(organization_id, user, invitation_id).await?;
        Ok(Response::new(RevokeInvitationResponse {}))
    }

    async fn resend_invitation(
        &self,
        request: Request<ResendInvitationRequest>,
    ) -> Result<Response<ResendInvitationResponse>, Status> {
        let user = user_id(&request)?;
        let m = request.get_ref();
        let organization_id = parse_id("organization_id", &m.organization_id)?;
        let invitation_id = parse_id("invitation_id", &m.invitation_id)?;
        let invitation = self.domain.resend_invitation(organization_id, user, invitation_id).await?;
        Ok(Response::new(ResendInvitationResponse { invitation: Some(convert::invitation(invitation)) }))
    }

    async fn accept_invitation(
        &self,
        request: Request<AcceptInvitationRequest>,
    ) -> Result<Response<AcceptInvitationResponse>, Status> {
        let user = user_id(&request)?;
        let token = token(&request.get_ref().token)?;
        let joined = self.domain.accept_invitation(user, token).await?;
        Ok(Response::new(AcceptInvitationResponse {
            invitation: Some(convert::invitation(joined.invitation)),
            member: Some(convert::member(joined.member)),
        }))
    }

    async fn list_my_invitations(
        &self,
        request: Request<ListMyInvitationsRequest>,
    ) -> Result<Response<ListMyInvitationsResponse>, Status> {
        let user = user_id(&request)?;
        let tokens = self.domain.page_tokens();
        let page = Page::<InvitationSort>::parse(request.get_ref().page.as_ref(), tokens, &("mine", user))?;
        let paged = self.domain.list_my_invitations(user, &page).await?;
        Ok(Response::new(ListMyInvitationsResponse {
            page: Some(page.info(&paged)),
            invitations: paged.items.into_iter().map(convert::invitation).collect(),
        }))
    }

    async fn accept_my_invitation(
        &self,
        request: Request<AcceptMyInvitationRequest>,
    ) -> Result<Response<AcceptMyInvitationResponse>, Status> {
        let user = user_id(&request)?;
        let invitation_id = parse_id("invitation_id", &request.get_ref().invitation_id)?;
        let joined = self.domain.accept_my_invitation(user, invitation_id).await?;
        Ok(Response::new(AcceptMyInvitationResponse {
            invitation: Some(convert::invitation(joined.invitation)),
            member: Some(convert::member(joined.member)),
        }))
    }

    async fn decline_my_invitation(
        &self,
        request: Request<DeclineMyInvitationRequest>,
    ) -> Result<Response<DeclineMyInvitationResponse>, Status> {
        let user = user_id(&request)?;
        let invitation_id = parse_id("invitation_id", &request.get_ref().invitation_id)?;
        let invitation = self.domain.decline_my_invitation(user, invitation_id).await?;
        Ok(Response::new(DeclineMyInvitationResponse { invitation: Some(convert::invitation(invitation)) }))
    }
}
