//! Helpers shared by the tenancy tests: a running suite, users registered and logged in through
//! the auth service, tenancy clients, bearer requests and error inspection.
#![allow(dead_code)]

use std::time::Duration;

use operant_platform::error::error_code_of;
use operant_platform::headers::ORGANIZATION_HEADER;
use operant_platform::headers::SERVICE_TOKEN_HEADER;
use operant_proto::auth::v1::auth_service_client::AuthServiceClient;
use operant_proto::auth::v1::{LoginRequest, RegisterRequest};
use operant_proto::common::v1::PageRequest;
use operant_proto::tenancy::v1::member_service_client::MemberServiceClient;
use operant_proto::tenancy::v1::organization_service_client::OrganizationServiceClient;
use operant_proto::tenancy::v1::subscription_service_client::SubscriptionServiceClient;
use operant_proto::tenancy::v1::tenancy_internal_service_client::TenancyInternalServiceClient;
use operant_proto::tenancy::v1::*;
use operant_testkit::TestApp;
use tonic::Request;
use tonic::transport::{Channel, Endpoint};
use tonic_types::StatusExt;

pub const PASSWORD: &str = "correct horse battery staple";

/// A registered, logged-in user.
#[derive(Debug, Clone)]
pub struct User {
    pub id: String,
    pub email: String,
    pub token: String,
}

/// The suite plus connected clients.
pub struct Harness {
    pub app: TestApp,
    pub auth: AuthServiceClient<Channel>,
    pub orgs: OrganizationServiceClient<Channel>,
    pub members: MemberServiceClient<Channel>,
    pub subs: SubscriptionServiceClient<Channel>,
    pub internal: TenancyInternalServiceClient<Channel>,
}

async fn connect(addr: std::net::SocketAddr) -> Channel {
    Endpoint::from_shared(format!("http://{addr}"))
        .expect("endpoint")
        .connect_timeout(Duration::from_secs(5))
        .connect()
        .await
        .expect("connect")
}

impl Harness {
    pub async fn new() -> Self {
        Self::from_app(TestApp::spawn().await).await
    }

    pub async fn from_app(app: TestApp) -> Self {
        let tenancy = connect(app.tenancy_addr).await;
        Harness {
            auth: AuthServiceClient::new(connect(app.auth_addr).await),
            orgs: OrganizationServiceClient::new(tenancy.clone()),
            members: MemberServiceClient::new(tenancy.clone()),
            subs: SubscriptionServiceClient::new(tenancy.clone()),
            internal: TenancyInternalServiceClient::new(tenancy),
            app,
        }
    }

    /// Registers and logs in a new user whose email starts with `tag`.
    pub async fn user(&self, tag: &str) -> User {
        let email = format!("{tag}-{}@example.com", uuid::Uuid::new_v4().simple());
        let mut auth = self.auth.clone();
        let user = auth
            .register(RegisterRequest {
                email: email.clone(),
                password: PASSWORD.into(),
                full_name: Some(format!("{tag} user")),
            })
            .await
            .expect("register")
            .into_inner()
            .user
            .expect("registered user");
        let tokens = auth
            .login(LoginRequest { email: email.clone(), password: PASSWORD.into() })
            .await
            .expect("login")
            .into_inner()
            .tokens
            .expect("token pair");
        User { id: user.id, email, token: tokens.access_token }
    }

    /// Creates an organization owned by `owner`; returns its id.
    pub async fn org(&self, owner: &User, slug: &str) -> String {
        let request = CreateOrganizationRequest { name: format!("Org {slug}"), slug: slug.into() };
        self.orgs
            .clone()
            .create_organization(as_user(request, owner))
            .await
            .expect("create organization")
            .into_inner()
            .organization
            .expect("organization")
            .id
    }

    /// `by` adds `who` to `org` with `role`.
    pub async fn add(&self, org: &str, by: &User, who: &User, role: Role) {
        let request =
            AddMemberRequest { organization_id: org.into(), email: who.email.clone(), role: role.into() };
        self.members.clone().add_member(as_user(request, by)).await.expect("add member");
    }

    /// `owner` moves `org` to `plan`.
    pub async fn set_plan(&self, org: &str, owner: &User, plan: Plan) {
        let request = UpdateSubscriptionRequest { organization_id: org.into(), plan: plan.into() };
        self.subs.clone().update_subscription(as_user(request, owner)).await.expect("change plan");
    }

    /// The members of `org` as seen by `user`, by user id.
    pub async fn roles(&self, org: &str, user: &User) -> Vec<(String, Role)> {
        let request = ListMembersRequest { organization_id: org.into(), page: None };
        let members = self.members.clone().list_members(as_user(request, user)).await.expect("list members");
        members.into_inner().members.into_iter().map(|m| (m.user_id.clone(), m.role())).collect()
    }

    /// An organization with an OWNER, an ADMIN and a MEMBER.
    pub async fn team(&self, slug: &str) -> Team {
        let (owner, admin, member) =
            (self.user("owner").await, self.user("admin").await, self.user("member").await);
        let org = self.org(&owner, slug).await;
        self.add(&org, &owner, &admin, Role::Admin).await;
        self.add(&org, &owner, &member, Role::Member).await;
        Team { org, owner, admin, member }
    }

    /// A request carrying the service token.
    pub fn as_service<T>(&self, message: T) -> Request<T> {
        let mut request = Request::new(message);
        let token = self.app.settings.service_token.parse().expect("ascii service token");
        request.metadata_mut().insert(SERVICE_TOKEN_HEADER, token);
        request
    }
}

/// An organization with one member of each role.
pub struct Team {
    pub org: String,
    pub owner: User,
    pub admin: User,
    pub member: User,
}

/// A request with the user's access token.
pub fn as_user<T>(message: T, user: &User) -> Request<T> {
    let mut request = Request::new(message);
    let value = format!("Bearer {}", user.token).parse().expect("ascii token");
    request.metadata_mut().insert("authorization", value);
    request
}

/// A request with the user's access token and an `x-organization-id` header.
pub fn in_org<T>(message: T, user: &User, organization: &str) -> Request<T> {
    let mut request = as_user(message, user);
    request.metadata_mut().insert(ORGANIZATION_HEADER, organization.parse().expect("ascii header"));
    request
}

pub fn page(skip: i32, limit: i32, order_by: &str) -> Option<PageRequest> {
    Some(PageRequest { skip, limit, order_by: order_by.into() })
}

/// The Operant error code of a failed call.
pub fn code<T: std::fmt::Debug>(result: Result<T, tonic::Status>) -> String {
    match result {
        Ok(v) => panic!("expected an error, got {v:?}"),
        Err(status) => error_code_of(&status).unwrap_or_else(|| format!("<no code: {status:?}>")),
    }
}

/// The HTTP status the gateway would answer with.
pub fn http_status(status: &tonic::Status) -> u16 {
    status
        .get_error_details()
        .error_info()
        .and_then(|info| info.metadata.get("http_status").and_then(|s| s.parse().ok()))
        .unwrap_or(0)
}

/// Error code and the fields named by the `BadRequest` violations.
pub fn violations<T: std::fmt::Debug>(result: Result<T, tonic::Status>) -> (String, Vec<String>) {
    match result {
        Ok(v) => panic!("expected an error, got {v:?}"),
        Err(status) => {
            let fields = status
                .get_error_details()
                .bad_request()
                .map(|b| b.field_violations.iter().map(|v| v.field.clone()).collect())
                .unwrap_or_default();
            (error_code_of(&status).unwrap_or_default(), fields)
        }
    }
}
