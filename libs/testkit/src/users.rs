//! Users, organizations (on a plan), members, projects and tasks made through the services' real
//! gRPC APIs, as a client would make them: [`User`], [`Actor`], [`Team`] and the [`Clients`]
//! methods that create them.

use operant_proto::auth::v1 as auth;
use operant_proto::tenancy::v1::{
    AcceptInvitationRequest, CreateApiKeyRequest, CreateInvitationRequest, CreateOrganizationRequest,
    GetSubscriptionRequest, ListMembersRequest, Plan, Role, UpdateMemberRequest, UpdateSubscriptionRequest,
};
use operant_proto::work::v1::{
    CreateProjectRequest, CreateTaskRequest, ListProjectsRequest, ListProjectsResponse, ListTasksRequest,
    ListTasksResponse, Project, Task,
};
use tonic::{Request, Status};
use uuid::Uuid;

use crate::clients::{Clients, as_user, bearer};

/// The one password of every test user.
pub const PASSWORD: &str = "correct horse battery";

/// `tag-<uuid>@example.com`.
pub fn unique_email(tag: &str) -> String {
    format!("{tag}-{}@example.com", Uuid::new_v4().simple())
}

/// A registered, logged-in user.
#[derive(Clone, Debug)]
pub struct User {
    pub id: String,
    pub email: String,
    /// Access token of the session.
    pub access: String,
    /// Refresh token of the session.
    pub refresh: String,
}

/// An organization API key as created (its secret is only known here).
#[derive(Clone)]
pub struct ApiKey {
    pub id: String,
    pub org: String,
    /// `opk_…`, the bearer.
    pub secret: String,
}

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiKey").field("id", &self.id).field("org", &self.org).finish_non_exhaustive()
    }
}

/// A user acting in one organization: builds authenticated requests.
#[derive(Clone, Debug)]
pub struct Actor {
    pub user: User,
    pub org: Uuid,
}

impl Actor {
    /// A request with the user's token and organization.
    pub fn req<T>(&self, message: T) -> Request<T> {
        crate::clients::in_org(message, &self.user, &self.org.to_string())
    }

    /// The same user in another organization.
    pub fn in_org(&self, org: Uuid) -> Actor {
        Actor { user: self.user.clone(), org }
    }

    pub fn id(&self) -> String {
        self.user.id.clone()
    }
}

/// An organization with one member of each role.
pub struct Team {
    pub org: String,
    pub owner: User,
    pub admin: User,
    pub member: User,
}

impl Clients {
    /// Registers `email` (password [`PASSWORD`], full name "Test User").
    pub async fn register(&mut self, email: &str) -> auth::User {
        self.register_named(email, "Test User").await
    }

    /// Registers `email` with [`PASSWORD`] and `full_name`.
    pub async fn register_named(&mut self, email: &str, full_name: &str) -> auth::User {
        let request = auth::RegisterRequest {
            request_id: String::new(),
            email: email.to_owned(),
            password: PASSWORD.to_owned(),
            full_name: Some(full_name.to_owned()),
        };
        self.auth.register(request).await.expect("register").into_inner().user.expect("registered user")
    }

    /// Logs `email` in with [`PASSWORD`].
    pub async fn login(&mut self, email: &str) -> auth::TokenPair {
        let request = auth::LoginRequest { email: email.to_owned(), password: PASSWORD.to_owned() };
        self.auth.login(request).await.expect("login").into_inner().tokens.expect("token pair")
    }

    /// A registered user (full name "<tag> user") and a logged-in token pair.
    pub async fn user_with_tokens(&mut self, tag: &str) -> (auth::User, auth::TokenPair) {
        let email = unique_email(tag);
        let user = self.register_named(&email, &format!("{tag} user")).await;
        let tokens = self.login(&email).await;
        (user, tokens)
    }

    /// The current user of `access`.
    pub async fn me(&mut self, access: &str) -> Result<auth::User, Status> {
        let response = self.users.get_current_user(bearer(auth::GetCurrentUserRequest {}, access)).await?;
        Ok(response.into_inner().user.expect("user"))
    }

    /// Rotates a refresh token.
    pub async fn refresh(&mut self, token: &str) -> Result<auth::TokenPair, Status> {
        let request = auth::RefreshTokenRequest { refresh_token: token.to_owned() };
        Ok(self.auth.refresh_token(request).await?.into_inner().tokens.expect("tokens"))
    }

    /// Registers and logs in a new user whose email starts with `tag`.
    pub async fn user(&self, tag: &str) -> User {
        let mut c = self.clone();
        let (user, tokens) = c.user_with_tokens(tag).await;
        User { id: user.id, email: user.email, access: tokens.access_token, refresh: tokens.refresh_token }
    }

    /// Creates an organization owned by `owner` (on the FREE plan); returns its id.
    pub async fn org(&self, owner: &User, slug: &str) -> String {
        let request = CreateOrganizationRequest {
            request_id: String::new(),
            name: format!("Org {slug}"),
            slug: slug.into(),
        };
        let response = self.orgs.clone().create_organization(as_user(request, owner)).await;
        response.expect("create organization").into_inner().organization.expect("organization").id
    }

    /// An organization on `plan` owned by `owner`; returns its id.
    pub async fn org_on(&self, owner: &User, slug: &str, plan: Plan) -> String {
        let org = self.org(owner, slug).await;
        if plan != Plan::Free {
            self.set_plan(&org, owner, plan).await;
        }
        org
    }

    /// `by` invites `who` into `org` with `role` and `who` accepts with the mailed token, as a
    /// person joins (OWNER: joined as ADMIN, then promoted by `by`, since ownership is never
    /// invited).
    pub async fn add(&self, org: &str, by: &User, who: &User, role: Role) {
        let invited = if role == Role::Owner { Role::Admin } else { role };
        let token = self.invite(org, by, &who.email, invited).await;
        let request = AcceptInvitationRequest { token };
        self.invitations.clone().accept_invitation(as_user(request, who)).await.expect("accept invitation");
        if role == Role::Owner {
            let request = UpdateMemberRequest {
                organization_id: org.into(),
                user_id: who.id.clone(),
                role: role.into(),
            };
            self.members.clone().update_member(as_user(request, by)).await.expect("promote to owner");
        }
    }

    /// `by` invites `email` into `org` with `role`; returns the token of the mailed link.
    pub async fn invite(&self, org: &str, by: &User, email: &str, role: Role) -> String {
        let before = self.mailbox.to(email).len();
        let request = CreateInvitationRequest {
            request_id: String::new(),
            organization_id: org.into(),
            email: email.into(),
            role: role.into(),
        };
        let response = self.invitations.clone().create_invitation(as_user(request, by)).await;
        let invitation = response.expect("create invitation").into_inner().invitation.expect("invitation");
        for n in before + 1.. {
            let mail = self.mailbox.wait_for(email, n).await;
            if mail.subject.contains(&invitation.organization_name) {
                return crate::mailbox::token_of(mail.link.as_deref().unwrap_or_default());
            }
        }
        unreachable!("wait_for panics when no mail comes")
    }

    /// `by` creates an API key of `org` with `role` (no expiry).
    pub async fn api_key(&self, org: &str, by: &User, role: Role) -> ApiKey {
        let request = CreateApiKeyRequest {
            request_id: String::new(),
            organization_id: org.into(),
            name: format!("key {}", &Uuid::new_v4().simple().to_string()[..8]),
            role: role.into(),
            expires_at: None,
        };
        let created =
            self.api_keys.clone().create_api_key(as_user(request, by)).await.expect("create API key");
        let created = created.into_inner();
        ApiKey { id: created.api_key.expect("api_key").id, org: org.into(), secret: created.key }
    }

    /// `owner` moves `org` to `plan`.
    pub async fn set_plan(&self, org: &str, owner: &User, plan: Plan) {
        let request = UpdateSubscriptionRequest {
            request_id: String::new(),
            organization_id: org.into(),
            plan: plan.into(),
        };
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

    /// A new organization (random slug) owned by a new user.
    pub async fn owner(&self, name: &str) -> Actor {
        let user = self.user(name).await;
        let slug = format!("org-{}", &Uuid::new_v4().simple().to_string()[..12]);
        let org = self.org(&user, &slug).await.parse().expect("org id");
        Actor { user, org }
    }

    /// A new user added to `owner`'s organization with `role`.
    pub async fn member(&self, owner: &Actor, name: &str, role: Role) -> Actor {
        let user = self.user(name).await;
        self.add(&owner.org.to_string(), &owner.user, &user, role).await;
        Actor { user, org: owner.org }
    }

    /// The organization's project limit, as tenancy reports it.
    pub async fn max_projects(&self, owner: &Actor) -> i64 {
        let request = GetSubscriptionRequest { organization_id: owner.org.to_string() };
        let sub = self.subs.clone().get_subscription(owner.req(request)).await.expect("get subscription");
        sub.into_inner().subscription.expect("subscription").limits.expect("limits").max_projects
    }

    /// Moves the organization to the PRO plan.
    pub async fn upgrade(&self, owner: &Actor) {
        self.set_plan(&owner.org.to_string(), &owner.user, Plan::Pro).await;
    }

    /// Creates a project.
    pub async fn project(&self, actor: &Actor, name: &str) -> Project {
        let request =
            CreateProjectRequest { request_id: String::new(), name: name.into(), description: None };
        let response = self.projects.clone().create_project(actor.req(request)).await;
        response.expect("create project").into_inner().project.expect("project")
    }

    /// Creates a task in `project`.
    pub async fn task(&self, actor: &Actor, project: &Project, title: &str) -> Task {
        let request =
            CreateTaskRequest { project_id: project.id.clone(), title: title.into(), ..Default::default() };
        self.create_task(actor, request).await.expect("create task")
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
