//! Shared helpers of the work service's end-to-end tests: the whole suite runs in-process
//! ([`TestApp`]); users come from the auth service and organizations and members from the
//! tenancy service, all over gRPC, exactly as a client would use them.

#![allow(dead_code, clippy::unwrap_used)]

use operant_platform::clients::service_channel;
use operant_platform::config::TlsConfig;
use operant_platform::error::error_code_of;
use operant_proto::auth::v1::auth_service_client::AuthServiceClient;
use operant_proto::auth::v1::{LoginRequest, RegisterRequest};
use operant_proto::common::v1::PageRequest;
use operant_proto::tenancy::v1::member_service_client::MemberServiceClient;
use operant_proto::tenancy::v1::organization_service_client::OrganizationServiceClient;
use operant_proto::tenancy::v1::subscription_service_client::SubscriptionServiceClient;
use operant_proto::tenancy::v1::{
    AddMemberRequest, CreateOrganizationRequest, GetSubscriptionRequest, Plan, Role,
    UpdateSubscriptionRequest,
};
use operant_proto::work::v1::project_service_client::ProjectServiceClient;
use operant_proto::work::v1::task_service_client::TaskServiceClient;
use operant_proto::work::v1::work_internal_service_client::WorkInternalServiceClient;
use operant_proto::work::v1::*;
use operant_testkit::TestApp;
use tonic::transport::Channel;
use tonic::{Code, Status};
use tonic_types::StatusExt;
use uuid::Uuid;

/// A registered, logged-in user.
#[derive(Clone, Debug)]
pub struct User {
    pub id: Uuid,
    pub email: String,
    pub token: String,
}

/// A user acting in one organization: builds authenticated requests.
#[derive(Clone, Debug)]
pub struct Actor {
    pub user: User,
    pub org: Uuid,
}

impl Actor {
    pub fn req<T>(&self, message: T) -> tonic::Request<T> {
        let mut request = tonic::Request::new(message);
        let md = request.metadata_mut();
        md.insert("authorization", format!("Bearer {}", self.user.token).parse().unwrap());
        md.insert("x-organization-id", self.org.to_string().parse().unwrap());
        request
    }

    /// The same user in another organization.
    pub fn in_org(&self, org: Uuid) -> Actor {
        Actor { user: self.user.clone(), org }
    }

    pub fn id(&self) -> String {
        self.user.id.to_string()
    }
}

/// The suite plus gRPC clients.
pub struct World {
    pub app: TestApp,
    pub projects: ProjectServiceClient<Channel>,
    pub tasks: TaskServiceClient<Channel>,
    pub auth_channel: Channel,
    pub tenancy_channel: Channel,
}

impl World {
    pub async fn new() -> World {
        Self::with(|_| {}).await
    }

    /// The suite with changed settings.
    pub async fn with(configure: impl FnOnce(&mut operant_platform::config::Settings)) -> World {
        let app = TestApp::spawn_with(configure).await;
        let work = app.channel(app.work_addr).await;
        let auth_channel = app.channel(app.auth_addr).await;
        let tenancy_channel = app.channel(app.tenancy_addr).await;
        World {
            projects: ProjectServiceClient::new(work.clone()),
            tasks: TaskServiceClient::new(work),
            auth_channel,
            tenancy_channel,
            app,
        }
    }

    /// A client of WorkInternalService presenting the service credential.
    pub fn internal(&self) -> WorkInternalServiceClient<operant_platform::clients::ServiceChannel> {
        let url = TestApp::grpc_url(self.app.work_addr);
        WorkInternalServiceClient::new(
            service_channel(&[url], &TlsConfig::default(), &self.app.settings.service_token).unwrap(),
        )
    }

    /// Registers and logs in a user.
    pub async fn user(&self, name: &str) -> User {
        let email = format!("{name}-{}@example.com", Uuid::new_v4().simple());
        let password = "correct horse battery".to_owned();
        let mut auth = AuthServiceClient::new(self.auth_channel.clone());
        let registered = auth
            .register(RegisterRequest { email: email.clone(), password: password.clone(), full_name: None })
            .await
            .expect("register")
            .into_inner();
        let id = registered.user.expect("user").id.parse().expect("user id");
        let tokens =
            auth.login(LoginRequest { email: email.clone(), password }).await.expect("login").into_inner();
        User { id, email, token: tokens.tokens.expect("tokens").access_token }
    }

    /// A new organization owned by a new user.
    pub async fn owner(&self, name: &str) -> Actor {
        let user = self.user(name).await;
        let mut orgs = OrganizationServiceClient::new(self.tenancy_channel.clone());
        let slug = format!("org-{}", &Uuid::new_v4().simple().to_string()[..12]);
        let mut request =
            tonic::Request::new(CreateOrganizationRequest { name: format!("{name} org"), slug });
        request.metadata_mut().insert("authorization", format!("Bearer {}", user.token).parse().unwrap());
        let org = orgs.create_organization(request).await.expect("create organization").into_inner();
        let org = org.organization.expect("organization").id.parse().expect("org id");
        Actor { user, org }
    }

    /// A new user added to `owner`'s organization with `role`.
    pub async fn member(&self, owner: &Actor, name: &str, role: Role) -> Actor {
        let user = self.user(name).await;
        let mut members = MemberServiceClient::new(self.tenancy_channel.clone());
        members
            .add_member(owner.req(AddMemberRequest {
                organization_id: owner.org.to_string(),
                email: user.email.clone(),
                role: role.into(),
            }))
            .await
            .expect("add member");
        Actor { user, org: owner.org }
    }

    /// The organization's project limit, as tenancy reports it.
    pub async fn max_projects(&self, owner: &Actor) -> i64 {
        let mut subs = SubscriptionServiceClient::new(self.tenancy_channel.clone());
        let sub = subs
            .get_subscription(owner.req(GetSubscriptionRequest { organization_id: owner.org.to_string() }))
            .await
            .expect("get subscription")
            .into_inner();
        sub.subscription.expect("subscription").limits.expect("limits").max_projects
    }

    /// Moves the organization to the PRO plan.
    pub async fn upgrade(&self, owner: &Actor) {
        let mut subs = SubscriptionServiceClient::new(self.tenancy_channel.clone());
        subs.update_subscription(owner.req(UpdateSubscriptionRequest {
            organization_id: owner.org.to_string(),
            plan: Plan::Pro.into(),
        }))
        .await
        .expect("upgrade");
    }

    /// A SQL connection to the test database (to set timestamps for tie tests).
    pub async fn sql(&self) -> tokio_postgres::Client {
        let (client, connection) =
            tokio_postgres::connect(&self.app.db.url, tokio_postgres::NoTls).await.expect("connect");
        tokio::spawn(connection);
        client
    }

    pub async fn project(&self, actor: &Actor, name: &str) -> Project {
        self.projects
            .clone()
            .create_project(actor.req(CreateProjectRequest { name: name.into(), description: None }))
            .await
            .expect("create project")
            .into_inner()
            .project
            .expect("project")
    }

    pub async fn task(&self, actor: &Actor, project: &Project, title: &str) -> Task {
        self.create_task(
            actor,
            CreateTaskRequest { project_id: project.id.clone(), title: title.into(), ..Default::default() },
        )
        .await
        .expect("create task")
    }

    pub async fn create_task(&self, actor: &Actor, message: CreateTaskRequest) -> Result<Task, Status> {
        Ok(self.tasks.clone().create_task(actor.req(message)).await?.into_inner().task.expect("task"))
    }

    pub async fn list_tasks(
        &self,
        actor: &Actor,
        message: ListTasksRequest,
    ) -> Result<ListTasksResponse, Status> {
        Ok(self.tasks.clone().list_tasks(actor.req(message)).await?.into_inner())
    }

    pub async fn list_projects(
        &self,
        actor: &Actor,
        message: ListProjectsRequest,
    ) -> Result<ListProjectsResponse, Status> {
        Ok(self.projects.clone().list_projects(actor.req(message)).await?.into_inner())
    }
}

/// A page request.
pub fn page(skip: i32, limit: i32, order_by: &str) -> Option<PageRequest> {
    Some(PageRequest { skip, limit, order_by: order_by.into() })
}

/// Asserts an error's gRPC code, `ErrorInfo.reason` and HTTP status.
#[track_caller]
pub fn assert_error<T: std::fmt::Debug>(
    result: Result<T, Status>,
    code: Code,
    error_code: &str,
    http: u16,
) -> Status {
    let status = result.expect_err("expected an error");
    assert_eq!(status.code(), code, "{status:?}");
    assert_eq!(error_code_of(&status).as_deref(), Some(error_code), "{status:?}");
    let info = status.get_error_details().error_info().cloned().expect("error info");
    assert_eq!(info.metadata.get("http_status").map(String::as_str), Some(http.to_string().as_str()));
    status
}

/// Asserts a 422 VALIDATION_ERROR naming `field`.
#[track_caller]
pub fn assert_invalid<T: std::fmt::Debug>(result: Result<T, Status>, field: &str) {
    let status = assert_error(result, Code::InvalidArgument, "VALIDATION_ERROR", 422);
    let fields: Vec<String> = status
        .get_error_details()
        .bad_request()
        .map(|b| b.field_violations.iter().map(|v| v.field.clone()).collect())
        .unwrap_or_default();
    assert!(fields.iter().any(|f| f == field), "expected a violation of {field}, got {fields:?}: {status:?}");
}

/// 404 with the given code.
#[track_caller]
pub fn assert_not_found<T: std::fmt::Debug>(result: Result<T, Status>, error_code: &str) {
    assert_error(result, Code::NotFound, error_code, 404);
}

/// 403 INSUFFICIENT_ROLE.
#[track_caller]
pub fn assert_forbidden<T: std::fmt::Debug>(result: Result<T, Status>) {
    assert_error(result, Code::PermissionDenied, "INSUFFICIENT_ROLE", 403);
}

/// 412 VERSION_MISMATCH (gRPC ABORTED).
#[track_caller]
pub fn assert_version_mismatch<T: std::fmt::Debug>(result: Result<T, Status>) {
    assert_error(result, Code::Aborted, "VERSION_MISMATCH", 412);
}

/// A random UUID as a string.
pub fn random_id() -> String {
    Uuid::new_v4().to_string()
}

pub fn field_mask(paths: &[&str]) -> Option<prost_types::FieldMask> {
    Some(prost_types::FieldMask { paths: paths.iter().map(|p| (*p).to_owned()).collect() })
}
