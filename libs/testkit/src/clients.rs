//! [`Clients`]: typed gRPC clients of every service of a suite, and the metadata helpers tests
//! build requests with (bearer token, organization, service token).
//!
//! Channels are lazy, so a client of a service the test has not started (or has stopped) only
//! fails when it is called, and reconnects once the service is back.

use std::net::SocketAddr;
use std::time::Duration;

use operant_platform::clients::ServiceCredentials;
use operant_platform::headers::ORGANIZATION_HEADER;
use operant_platform::headers::SERVICE_TOKEN_HEADER;
use operant_proto::auth::v1::auth_internal_service_client::AuthInternalServiceClient;
use operant_proto::auth::v1::auth_service_client::AuthServiceClient;
use operant_proto::auth::v1::user_service_client::UserServiceClient;
use operant_proto::common::v1::PageRequest;
use operant_proto::events::v1::event_service_client::EventServiceClient;
use operant_proto::events::v1::events_internal_service_client::EventsInternalServiceClient;
use operant_proto::events::v1::webhook_service_client::WebhookServiceClient;
use operant_proto::tenancy::v1::api_key_service_client::ApiKeyServiceClient;
use operant_proto::tenancy::v1::invitation_service_client::InvitationServiceClient;
use operant_proto::tenancy::v1::member_service_client::MemberServiceClient;
use operant_proto::tenancy::v1::organization_service_client::OrganizationServiceClient;
use operant_proto::tenancy::v1::subscription_service_client::SubscriptionServiceClient;
use operant_proto::tenancy::v1::tenancy_internal_service_client::TenancyInternalServiceClient;
use operant_proto::work::v1::project_service_client::ProjectServiceClient;
use operant_proto::work::v1::task_service_client::TaskServiceClient;
use operant_proto::work::v1::work_internal_service_client::WorkInternalServiceClient;
use tonic::Request;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, Endpoint};

use crate::mailbox::Mailbox;
use crate::users::User;

/// A channel presenting the service token on every call.
pub type ServiceChannel = InterceptedService<Channel, ServiceCredentials>;

/// Clients of every gRPC service of one suite. `*_internal` clients of auth and work present
/// the service token; tenancy's does not (its tests check both ways; use [`Clients::as_service`]).
#[derive(Clone)]
pub struct Clients {
    pub auth: AuthServiceClient<Channel>,
    pub users: UserServiceClient<Channel>,
    pub auth_internal: AuthInternalServiceClient<ServiceChannel>,
    pub orgs: OrganizationServiceClient<Channel>,
    pub members: MemberServiceClient<Channel>,
    pub subs: SubscriptionServiceClient<Channel>,
    pub invitations: InvitationServiceClient<Channel>,
    pub api_keys: ApiKeyServiceClient<Channel>,
    pub tenancy_internal: TenancyInternalServiceClient<Channel>,
    pub projects: ProjectServiceClient<Channel>,
    pub tasks: TaskServiceClient<Channel>,
    pub work_internal: WorkInternalServiceClient<ServiceChannel>,
    /// The change feed (`EventService`) and its service-only ingest.
    pub events: EventServiceClient<Channel>,
    pub events_internal: EventsInternalServiceClient<ServiceChannel>,
    /// Webhook endpoints (`WebhookService`).
    pub webhooks: WebhookServiceClient<Channel>,
    pub service_token: String,
    /// The mail tenancy delivered (invitations), when tenancy runs in the test's process.
    pub mailbox: Mailbox,
}

/// A lazy channel to `http://{addr}`.
pub fn lazy_channel(addr: SocketAddr) -> Channel {
    Endpoint::from_shared(format!("http://{addr}"))
        .expect("endpoint")
        .connect_timeout(Duration::from_secs(5))
        .connect_lazy()
}

impl Clients {
    /// Clients of the services at these addresses (tenancy's mail read from `mailbox`).
    pub fn lazy(
        auth: SocketAddr,
        tenancy: SocketAddr,
        work: SocketAddr,
        events: SocketAddr,
        service_token: &str,
        mailbox: Mailbox,
    ) -> Clients {
        let (auth, tenancy, work) = (lazy_channel(auth), lazy_channel(tenancy), lazy_channel(work));
        let events = lazy_channel(events);
        let credentials = || ServiceCredentials::new(service_token).expect("ascii service token");
        Clients {
            users: UserServiceClient::new(auth.clone()),
            auth_internal: AuthInternalServiceClient::with_interceptor(auth.clone(), credentials()),
            auth: AuthServiceClient::new(auth),
            orgs: OrganizationServiceClient::new(tenancy.clone()),
            members: MemberServiceClient::new(tenancy.clone()),
            subs: SubscriptionServiceClient::new(tenancy.clone()),
            invitations: InvitationServiceClient::new(tenancy.clone()),
            api_keys: ApiKeyServiceClient::new(tenancy.clone()),
            tenancy_internal: TenancyInternalServiceClient::new(tenancy),
            projects: ProjectServiceClient::new(work.clone()),
            tasks: TaskServiceClient::new(work.clone()),
            work_internal: WorkInternalServiceClient::with_interceptor(work, credentials()),
            events: EventServiceClient::new(events.clone()),
            webhooks: WebhookServiceClient::new(events.clone()),
            events_internal: EventsInternalServiceClient::with_interceptor(events, credentials()),
            service_token: service_token.to_owned(),
            mailbox,
        }
    }

    /// The same clients, with auth's pointing at another auth server (e.g. a replica).
    pub fn with_auth_at(&self, addr: SocketAddr) -> Clients {
        let auth = lazy_channel(addr);
        let credentials = ServiceCredentials::new(&self.service_token).expect("ascii service token");
        Clients {
            auth: AuthServiceClient::new(auth.clone()),
            users: UserServiceClient::new(auth.clone()),
            auth_internal: AuthInternalServiceClient::with_interceptor(auth, credentials),
            ..self.clone()
        }
    }

    /// A request carrying the service token.
    pub fn as_service<T>(&self, message: T) -> Request<T> {
        with_service_token(message, &self.service_token)
    }
}

/// A request with `Authorization: Bearer <token>`.
pub fn bearer<T>(message: T, token: &str) -> Request<T> {
    let mut request = Request::new(message);
    let value = format!("Bearer {token}").parse().expect("ascii token");
    request.metadata_mut().insert("authorization", value);
    request
}

/// A request with the user's access token.
pub fn as_user<T>(message: T, user: &User) -> Request<T> {
    bearer(message, &user.access)
}

/// A request with the user's access token and an `x-organization-id` header.
pub fn in_org<T>(message: T, user: &User, organization: &str) -> Request<T> {
    let mut request = as_user(message, user);
    request.metadata_mut().insert(ORGANIZATION_HEADER, organization.parse().expect("ascii header"));
    request
}

/// A request authenticated with an organization API key (no `x-organization-id`: a key acts in
/// its own organization).
pub fn with_key<T>(message: T, key: &crate::users::ApiKey) -> Request<T> {
    bearer(message, &key.secret)
}

/// A request carrying a service token.
pub fn with_service_token<T>(message: T, token: &str) -> Request<T> {
    let mut request = Request::new(message);
    request.metadata_mut().insert(SERVICE_TOKEN_HEADER, token.parse().expect("ascii service token"));
    request
}

/// A page request.
pub fn page(skip: i32, limit: i32, order_by: &str) -> Option<PageRequest> {
    Some(PageRequest { skip, limit, order_by: order_by.into(), page_token: String::new() })
}

/// A cursor page request: `limit` rows after `token` (a `next_page_token`), sorted by `order_by`.
pub fn page_after(token: &str, limit: i32, order_by: &str) -> Option<PageRequest> {
    Some(PageRequest { skip: 0, limit, order_by: order_by.into(), page_token: token.into() })
}

/// A field mask of `paths`.
pub fn field_mask(paths: &[&str]) -> Option<prost_types::FieldMask> {
    Some(prost_types::FieldMask { paths: paths.iter().map(|p| (*p).to_owned()).collect() })
}

/// A random UUID as a string.
pub fn random_id() -> String {
    uuid::Uuid::new_v4().to_string()
}
