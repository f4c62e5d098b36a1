//! The other Operant services the work service calls, over gRPC with the service token: only
//! tenancy, for the caller's standing in an organization (`Authorize`, asked fresh on every call,
//! so a removed member or a changed plan takes effect immediately) and whether a user is a
//! member (assignee checks).
//!
//! The work service never reads tenancy's tables. Errors answered by tenancy (they carry an
//! `ErrorInfo`) are relayed unchanged; a tenancy that cannot be reached (no answer, no
//! `ErrorInfo`) is 503 `SERVICE_UNAVAILABLE`.

use std::time::Duration;

use operant_platform::clients::ServiceChannel;
use operant_platform::error::error_code_of;
use operant_platform::principal::Actor;
use operant_proto::tenancy::v1::tenancy_internal_service_client::TenancyInternalServiceClient;
use operant_proto::tenancy::v1::{AuthorizeRequest, CheckMembershipRequest, Role};
use uuid::Uuid;

use crate::error::WorkError;
use crate::model::Standing;

/// How long one call to tenancy may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(5);

/// Clients of the other services: `TenancyInternalService`.
#[derive(Clone)]
pub struct Peers {
    client: TenancyInternalServiceClient<ServiceChannel>,
}

fn request<T>(message: T) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request.set_timeout(CALL_TIMEOUT);
    request
}

fn relay(status: tonic::Status) -> WorkError {
    if error_code_of(&status).is_some() {
        WorkError::Tenancy(status)
    } else {
        tracing::warn!(%status, "tenancy call failed");
        WorkError::TenancyUnavailable
    }
}

impl Peers {
    pub fn new(channel: ServiceChannel) -> Self {
        Self { client: TenancyInternalServiceClient::new(channel) }
    }

    /// The caller's role (an API key's own) and the plan's limits; tenancy's 403 `NOT_A_MEMBER`
    /// when the user is not a member, the key is not active there, or the organization does not
    /// exist.
    pub async fn authorize(&self, actor: &Actor, organization_id: Uuid) -> Result<Standing, WorkError> {
        let (actor_id, actor_type, message) = match actor {
            Actor::User(id) => {
                (*id, "USER", AuthorizeRequest { user_id: id.to_string(), ..Default::default() })
            }
            Actor::ApiKey(key) => (
                key.key_id,
                "API_KEY",
                AuthorizeRequest { api_key_id: key.key_id.to_string(), ..Default::default() },
            ),
        };
        let message = AuthorizeRequest { organization_id: organization_id.to_string(), ..message };
        let answer = self.client.clone().authorize(request(message)).await.map_err(relay)?.into_inner();
        let is_admin = matches!(Role::try_from(answer.role), Ok(Role::Owner | Role::Admin));
        let max_projects = answer.limits.map(|l| l.max_projects).unwrap_or(0);
        Ok(Standing { actor_id, actor_type, organization_id, is_admin, max_projects })
    }

    /// Whether `user_id` is a member of the organization.
    pub async fn is_member(&self, user_id: Uuid, organization_id: Uuid) -> Result<bool, WorkError> {
        let answer = self
            .client
            .clone()
            .check_membership(request(CheckMembershipRequest {
                user_id: user_id.to_string(),
                organization_id: organization_id.to_string(),
            }))
            .await
            .map_err(relay)?
            .into_inner();
        Ok(answer.member)
    }
}
