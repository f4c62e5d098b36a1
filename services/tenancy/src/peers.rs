//! The other Operant services the tenancy service calls, over gRPC with the service token:
//! auth for user look-ups and for marking an invited address verified (tenancy never reads
//! auth's tables) and work for project counts and
//! for purging an organization's projects and tasks before the organization is deleted.
//!
//! Every call has a deadline. A peer that does not answer is reported as 503
//! `SERVICE_UNAVAILABLE`: the domain never guesses a count or skips a purge.

use std::collections::HashMap;
use std::time::Duration;

use operant_platform::clients::ServiceChannel;
use operant_platform::error::{ErrorCode, error_code_of};
use operant_proto::auth::v1::auth_internal_service_client::AuthInternalServiceClient;
use operant_proto::auth::v1::{GetUserByEmailRequest, GetUsersRequest, MarkEmailVerifiedRequest, User};
use operant_proto::work::v1::work_internal_service_client::WorkInternalServiceClient;
use operant_proto::work::v1::{GetOrganizationUsageRequest, PurgeOrganizationRequest};
use tonic::Code;
use uuid::Uuid;

use crate::error::TenancyError;

/// Deadline of every call to another service.
const CALL_TIMEOUT: Duration = Duration::from_secs(5);

/// What the tenancy service needs to know about a user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserInfo {
    pub id: Uuid,
    pub email: String,
    pub full_name: Option<String>,
    pub email_verified: bool,
}

impl UserInfo {
    fn from_proto(user: User) -> Option<Self> {
        Some(UserInfo {
            id: user.id.parse().ok()?,
            email: user.email,
            full_name: user.full_name,
            email_verified: user.email_verified,
        })
    }
}

/// Clients of the auth and work services.
#[derive(Clone)]
pub struct Peers {
    auth: AuthInternalServiceClient<ServiceChannel>,
    work: WorkInternalServiceClient<ServiceChannel>,
}

fn request<T>(message: T) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request.set_timeout(CALL_TIMEOUT);
    request
}

fn is_user_not_found(status: &tonic::Status) -> bool {
    error_code_of(status).as_deref() == Some(ErrorCode::UserNotFound.as_str())
        || status.code() == Code::NotFound
}

fn unavailable(service: &'static str, status: &tonic::Status) -> TenancyError {
    tracing::warn!(service, code = ?status.code(), message = status.message(), "peer call failed");
    TenancyError::ServiceUnavailable(service)
}

impl Peers {
    pub fn new(auth: ServiceChannel, work: ServiceChannel) -> Self {
        Peers { auth: AuthInternalServiceClient::new(auth), work: WorkInternalServiceClient::new(work) }
    }

    /// The user with this email, if any; 422 naming `email` when auth rejects the address itself.
    pub async fn user_by_email(&self, email: &str) -> Result<Option<UserInfo>, TenancyError> {
        let result =
            self.auth.clone().get_user_by_email(request(GetUserByEmailRequest { email: email.into() })).await;
        match result {
            Ok(response) => Ok(response.into_inner().user.and_then(UserInfo::from_proto)),
            Err(status) if is_user_not_found(&status) => Ok(None),
            Err(status) if status.code() == Code::InvalidArgument => {
                Err(TenancyError::invalid("email", "is not a valid email address"))
            }
            Err(status) => Err(unavailable("auth", &status)),
        }
    }

    /// The user with this id, if auth knows it.
    pub async fn user(&self, id: Uuid) -> Result<Option<UserInfo>, TenancyError> {
        Ok(self.users(&[id]).await?.remove(&id))
    }

    /// Marks the user's email verified, because a token mailed to `email` was used; `false` when
    /// the account's email is not (any more) that address.
    pub async fn mark_email_verified(&self, id: Uuid, email: &str) -> Result<bool, TenancyError> {
        let message = MarkEmailVerifiedRequest { user_id: id.to_string(), email: email.into() };
        match self.auth.clone().mark_email_verified(request(message)).await {
            Ok(_) => Ok(true),
            Err(status) if is_user_not_found(&status) => Ok(false),
            Err(status) => Err(unavailable("auth", &status)),
        }
    }

    /// The users with these ids, by id; unknown ids are left out.
    pub async fn users(&self, ids: &[Uuid]) -> Result<HashMap<Uuid, UserInfo>, TenancyError> {
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let message = GetUsersRequest { user_ids: ids.iter().map(Uuid::to_string).collect() };
        let response =
            self.auth.clone().get_users(request(message)).await.map_err(|s| unavailable("auth", &s))?;
        Ok(response
            .into_inner()
            .users
            .into_iter()
            .filter_map(UserInfo::from_proto)
            .map(|user| (user.id, user))
            .collect())
    }

    /// How many projects the organization has.
    pub async fn project_count(&self, organization_id: Uuid) -> Result<i64, TenancyError> {
        let message = GetOrganizationUsageRequest { organization_id: organization_id.to_string() };
        let response = self
            .work
            .clone()
            .get_organization_usage(request(message))
            .await
            .map_err(|s| unavailable("work", &s))?;
        Ok(response.into_inner().projects)
    }

    /// Deletes every project and task of the organization (idempotent).
    pub async fn purge_organization(&self, organization_id: Uuid) -> Result<(), TenancyError> {
        let message = PurgeOrganizationRequest { organization_id: organization_id.to_string() };
        let response = self
            .work
            .clone()
            .purge_organization(request(message))
            .await
            .map_err(|s| unavailable("work", &s))?;
        let counts = response.into_inner();
        tracing::info!(
            %organization_id,
            projects = counts.projects_deleted,
            tasks = counts.tasks_deleted,
            "purged the organization's work"
        );
        Ok(())
    }
}
