//! The other Operant services the work service calls, over gRPC with the service token: only
//! tenancy, for the caller's standing in an organization (`Authorize`, whose answers are cached
//! by [`crate::standings`] while tenancy's change stream proves them fresh: a removed member, a
//! changed role or a downgraded plan takes effect within [`crate::standings::FRESHNESS`]) and
//! whether a user is a member (assignee checks: from the same cache when it holds the user's
//! standing, else asked).
//!
//! The work service never reads tenancy's tables. Errors answered by tenancy (they carry an
//! `ErrorInfo`) are relayed unchanged; a tenancy that cannot be reached (no answer, no
//! `ErrorInfo`) is 503 `SERVICE_UNAVAILABLE`.

use std::sync::Arc;
use std::time::Duration;

use operant_platform::clients::ServiceChannel;
use operant_platform::error::error_code_of;
use operant_platform::principal::Actor;
use operant_proto::tenancy::v1::tenancy_internal_service_client::TenancyInternalServiceClient;
use operant_proto::tenancy::v1::{AuthorizeRequest, CheckMembershipRequest, Role};
use uuid::Uuid;

use crate::error::WorkError;
use crate::model::Standing;
use crate::standings::{Access, Principal, StandingCache};

/// How long one call to tenancy may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(5);

/// Clients of the other services: `TenancyInternalService`.
#[derive(Clone)]
pub struct Peers {
    client: TenancyInternalServiceClient<ServiceChannel>,
    standings: Arc<StandingCache>,
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
    /// Clients over `channel`; `Authorize` answers are cached in `standings` (kept fresh by
    /// [`crate::standings::spawn_watch`]).
    pub fn new(channel: ServiceChannel, standings: Arc<StandingCache>) -> Self {
        Self { client: TenancyInternalServiceClient::new(channel), standings }
    }

    /// The caller's role (an API key's own) and the plan's limits; tenancy's 403 `NOT_A_MEMBER`
    /// when the user is not a member, the key is not active there, or the organization does not
    /// exist. Answered from the standing cache while it is fresh, else by tenancy (and cached).
    pub async fn authorize(&self, actor: &Actor, organization_id: Uuid) -> Result<Standing, WorkError> {
        self.ask(actor, organization_id, true).await
    }

    /// As [`Peers::authorize`], always asking tenancy (the answer refreshes the cache): for a
    /// call the domain refused on a cached standing ([`WorkError::StaleStanding`]).
    pub async fn authorize_fresh(&self, actor: &Actor, organization_id: Uuid) -> Result<Standing, WorkError> {
        self.ask(actor, organization_id, false).await
    }

    async fn ask(&self, actor: &Actor, organization_id: Uuid, cache: bool) -> Result<Standing, WorkError> {
        let (actor_id, actor_type, principal) = match actor {
            Actor::User(id) => (*id, "USER", Principal::User(*id)),
            Actor::ApiKey(key) => (key.key_id, "API_KEY", Principal::ApiKey(key.key_id)),
        };
        let standing = |access: Access, cached: bool| Standing {
            actor_id,
            actor_type,
            organization_id,
            is_admin: access.is_admin,
            max_projects: access.max_projects,
            cached,
        };
        if cache && let Some(access) = self.standings.get(principal, organization_id) {
            return Ok(standing(access, true));
        }
        let generation = self.standings.generation();
        let message = match principal {
            Principal::User(id) => AuthorizeRequest { user_id: id.to_string(), ..Default::default() },
            Principal::ApiKey(id) => AuthorizeRequest { api_key_id: id.to_string(), ..Default::default() },
        };
        let message = AuthorizeRequest { organization_id: organization_id.to_string(), ..message };
        let answer = self.client.clone().authorize(request(message)).await.map_err(relay)?.into_inner();
        let access = Access {
            is_admin: matches!(Role::try_from(answer.role), Ok(Role::Owner | Role::Admin)),
            max_projects: answer.limits.map(|l| l.max_projects).unwrap_or(0),
        };
        self.standings.insert(principal, organization_id, access, generation);
        Ok(standing(access, false))
    }

    /// Whether `user_id` is a member of the organization: yes when the cache holds the user's
    /// standing there (as fresh as any cached standing), else asked of tenancy.
    pub async fn is_member(&self, user_id: Uuid, organization_id: Uuid) -> Result<bool, WorkError> {
        if self.standings.get(Principal::User(user_id), organization_id).is_some() {
            return Ok(true);
        }
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
