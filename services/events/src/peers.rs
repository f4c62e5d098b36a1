//! The other Operant service the events service calls: tenancy, for the caller's role in the
//! organization (`Authorize`, asked on every list call and at every heartbeat of a watch, so a
//! demoted or removed admin stops reading at once). Errors answered by tenancy are relayed
//! unchanged; a tenancy that cannot be reached is 503 `SERVICE_UNAVAILABLE`.

use std::time::Duration;

use operant_platform::clients::ServiceChannel;
use operant_platform::error::error_code_of;
use operant_platform::principal::Actor;
use operant_proto::tenancy::v1::tenancy_internal_service_client::TenancyInternalServiceClient;
use operant_proto::tenancy::v1::{AuthorizeRequest, AuthorizeResponse, Role};
use uuid::Uuid;

use crate::error::EventsError;

/// How long one call to tenancy may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(5);

/// The client of `TenancyInternalService`.
#[derive(Clone)]
pub struct Peers {
    client: TenancyInternalServiceClient<ServiceChannel>,
}

impl Peers {
    pub fn new(channel: ServiceChannel) -> Self {
        Self { client: TenancyInternalServiceClient::new(channel) }
    }

    /// `Ok` when the actor is an OWNER or ADMIN of the organization (an API key: its own role);
    /// 403 `INSUFFICIENT_ROLE` for a MEMBER, tenancy's 403 `NOT_A_MEMBER` for outsiders.
    pub async fn require_admin(&self, actor: &Actor, organization_id: Uuid) -> Result<(), EventsError> {
        match Role::try_from(self.authorize(actor, organization_id).await?.role) {
            Ok(Role::Owner | Role::Admin) => Ok(()),
            _ => Err(EventsError::NotAdmin),
        }
    }

    /// The features of the organization's plan when the actor is an OWNER or ADMIN of it
    /// (403 `INSUFFICIENT_ROLE` for a MEMBER, tenancy's `NOT_A_MEMBER` for outsiders).
    pub async fn admin_features(
        &self,
        actor: &Actor,
        organization_id: Uuid,
    ) -> Result<Vec<String>, EventsError> {
        let answer = self.authorize(actor, organization_id).await?;
        match Role::try_from(answer.role) {
            Ok(Role::Owner | Role::Admin) => Ok(answer.features),
            _ => Err(EventsError::NotWebhookAdmin),
        }
    }

    /// Tenancy's `Authorize` answer for the actor in the organization.
    async fn authorize(
        &self,
        actor: &Actor,
        organization_id: Uuid,
    ) -> Result<AuthorizeResponse, EventsError> {
        let message = match actor {
            Actor::User(id) => AuthorizeRequest { user_id: id.to_string(), ..Default::default() },
            Actor::ApiKey(key) => {
                AuthorizeRequest { api_key_id: key.key_id.to_string(), ..Default::default() }
            }
        };
        let mut request =
            tonic::Request::new(AuthorizeRequest { organization_id: organization_id.to_string(), ..message });
        request.set_timeout(CALL_TIMEOUT);
        let answer = self.client.clone().authorize(request).await.map_err(|status| {
            if error_code_of(&status).is_some() {
                EventsError::Tenancy(status)
            } else {
                tracing::warn!(%status, "tenancy call failed");
                EventsError::TenancyUnavailable
            }
        })?;
        Ok(answer.into_inner())
    }
}
