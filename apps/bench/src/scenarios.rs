//! The scenarios and, for each, the per-worker [`Op`]s over REST (through the gateway) and over
//! gRPC (straight to the owning service). Requests and metadata are built once per worker; the
//! only per-request work is cloning them (and, for refresh chains, the new token's body).

mod ops;

use std::str::FromStr;
use std::sync::Arc;

use futures::future::join_all;
use http::{Method, StatusCode};
use operant_proto::auth::v1 as auth;
use operant_proto::work::v1 as work;
use serde_json::json;
use tonic::metadata::MetadataMap;

use crate::api::Api;
use crate::driver::Op;
use crate::grpc::{Channels, metadata};
use crate::rest::{Prepared, RestConn, RestTarget};
use crate::setup::{Fixtures, PASSWORD};
use ops::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    /// The stack alone: no credential, no database (what a request costs before any work).
    Floor,
    UsersMe,
    ListProjects,
    ListProjectsApiKey,
    ListTasksTodo,
    CreateTask,
    CreateTaskIdempotent,
    CreateTaskWebhook,
    RefreshChain,
    Login,
    Mixed,
    FirstPage,
    DeepPage,
}

impl Scenario {
    pub const ALL: [Scenario; 13] = [
        Self::Floor,
        Self::UsersMe,
        Self::ListProjects,
        Self::ListProjectsApiKey,
        Self::ListTasksTodo,
        Self::FirstPage,
        Self::DeepPage,
        Self::CreateTask,
        Self::CreateTaskIdempotent,
        Self::CreateTaskWebhook,
        Self::RefreshChain,
        Self::Login,
        Self::Mixed,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::Floor => "floor",
            Self::UsersMe => "users_me",
            Self::ListProjects => "list_projects",
            Self::ListProjectsApiKey => "list_projects_api_key",
            Self::ListTasksTodo => "list_tasks_todo",
            Self::CreateTask => "create_task",
            Self::CreateTaskIdempotent => "create_task_idempotent",
            Self::CreateTaskWebhook => "create_task_webhook",
            Self::RefreshChain => "refresh_chain",
            Self::Login => "login",
            Self::Mixed => "mixed",
            Self::FirstPage => "first_page",
            Self::DeepPage => "deep_page",
        }
    }

    /// What one request is, for the report.
    pub fn describe(self, transport: Transport) -> &'static str {
        match (self, transport) {
            (Self::Floor, Transport::Rest) => "GET /health (3 grpc.health.v1 Checks, no database)",
            (Self::Floor, Transport::Grpc) => {
                "grpc.health.v1.Health/Check on auth (no credential, no database)"
            }
            (Self::UsersMe, Transport::Rest) => "GET /users/me",
            (Self::UsersMe, Transport::Grpc) => "UserService/GetCurrentUser",
            (Self::ListProjects, Transport::Rest) => "GET /projects?limit=20",
            (Self::ListProjects, Transport::Grpc) => "ProjectService/ListProjects (limit 20)",
            (Self::ListProjectsApiKey, Transport::Rest) => "GET /projects?limit=20 with an API key",
            (Self::ListProjectsApiKey, Transport::Grpc) => {
                "ProjectService/ListProjects (limit 20) with an API key"
            }
            (Self::ListTasksTodo, Transport::Rest) => "GET /tasks?project_id=…&status=TODO",
            (Self::ListTasksTodo, Transport::Grpc) => "TaskService/ListTasks (project, TODO)",
            (Self::CreateTask, Transport::Rest) => "POST /tasks",
            (Self::CreateTask, Transport::Grpc) => "TaskService/CreateTask",
            (Self::CreateTaskIdempotent, Transport::Rest) => "POST /tasks with a fresh Idempotency-Key",
            (Self::CreateTaskIdempotent, Transport::Grpc) => "TaskService/CreateTask with a fresh request_id",
            (Self::CreateTaskWebhook, Transport::Rest) => {
                "POST /tasks with a webhook endpoint subscribed to task.created"
            }
            (Self::CreateTaskWebhook, Transport::Grpc) => {
                "TaskService/CreateTask with a webhook endpoint subscribed to task.created"
            }
            (Self::RefreshChain, Transport::Rest) => "POST /auth/refresh (per-worker chain)",
            (Self::RefreshChain, Transport::Grpc) => "AuthService/RefreshToken (per-worker chain)",
            (Self::Login, Transport::Rest) => "POST /auth/login",
            (Self::Login, Transport::Grpc) => "AuthService/Login",
            (Self::Mixed, Transport::Rest) => "GET /users/me during a POST /auth/login storm",
            (Self::Mixed, Transport::Grpc) => "GetCurrentUser during a Login storm",
            (Self::FirstPage, Transport::Rest) => "GET /tasks?project_id=…&limit=20 (20,000 tasks, page 1)",
            (Self::FirstPage, Transport::Grpc) => "TaskService/ListTasks (20,000 tasks, limit 20, page 1)",
            (Self::DeepPage, Transport::Rest) => "GET /tasks?project_id=…&limit=20&page_token=… (page 500)",
            (Self::DeepPage, Transport::Grpc) => {
                "TaskService/ListTasks (20,000 tasks, limit 20, page 500 by cursor)"
            }
        }
    }
}

/// What a scenario authenticates with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credential {
    /// The owner's access token (a JWT), fetched before each scenario.
    AccessToken,
    /// The organization's API key: the same request as `list_projects` with the other
    /// credential, so the two compare the cost of verifying each.
    ApiKey,
}

impl Scenario {
    pub fn credential(self) -> Credential {
        if self == Self::ListProjectsApiKey { Credential::ApiKey } else { Credential::AccessToken }
    }
}

impl FromStr for Scenario {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Self::ALL.into_iter().find(|sc| sc.name() == s).ok_or_else(|| {
            format!("unknown scenario {s:?} (known: {})", Self::ALL.map(Self::name).join(", "))
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Rest,
    Grpc,
}

impl Transport {
    pub fn name(self) -> &'static str {
        match self {
            Self::Rest => "rest",
            Self::Grpc => "grpc",
        }
    }
}

/// Everything the ops are built from.
pub struct Ctx {
    pub rest: Arc<RestTarget>,
    pub channels: Channels,
    pub fx: Fixtures,
    /// The credential of the scenario: a fresh access token of the owner, or the organization's
    /// API key ([`Scenario::credential`]).
    pub token: String,
    /// Most logins in flight at once (see `--login-concurrency`).
    pub login_concurrency: usize,
    /// Processes whose CPU time is read around each measured window (`--pids`).
    pub pids: Vec<(String, u32)>,
    /// The PostgreSQL postmaster whose process tree's CPU time is read too (`--pg-pid`).
    pub postgres: Option<u32>,
}

/// The workers of one run: measured ops, background ops (the login storm of `mixed`) and notes
/// about ops that could not be prepared.
pub struct Workers {
    pub ops: Vec<Box<dyn Op>>,
    pub background: Vec<Box<dyn Op>>,
    pub notes: Vec<String>,
}

fn page(limit: i32) -> Option<operant_proto::common::v1::PageRequest> {
    page_after(limit, "")
}

fn page_after(limit: i32, token: &str) -> Option<operant_proto::common::v1::PageRequest> {
    Some(operant_proto::common::v1::PageRequest {
        skip: 0,
        limit,
        order_by: String::new(),
        page_token: token.to_owned(),
    })
}

impl Ctx {
    fn org(&self) -> Option<&str> {
        Some(self.fx.organization_id.as_str()).filter(|s| !s.is_empty())
    }

    fn rest_op(
        &self,
        method: Method,
        path: &str,
        body: Option<serde_json::Value>,
        expect: StatusCode,
    ) -> anyhow::Result<Box<dyn Op>> {
        let request =
            Prepared::new(&self.rest, method, path, Some(&self.token), self.org(), body.as_ref(), expect)?;
        Ok(Box::new(RestOp { conn: RestConn::new(self.rest.clone()), request }))
    }

    fn login_email(&self, worker: usize) -> String {
        self.fx.login_emails[worker % self.fx.login_emails.len()].clone()
    }

    fn login_op(&self, transport: Transport, worker: usize) -> anyhow::Result<Box<dyn Op>> {
        let email = self.login_email(worker);
        Ok(match transport {
            Transport::Rest => self.rest_op(
                Method::POST,
                "/auth/login",
                Some(json!({"email": email, "password": PASSWORD})),
                StatusCode::OK,
            )?,
            Transport::Grpc => Box::new(GrpcLogin {
                client: AuthClient::new(self.channels.auth(worker)),
                md: MetadataMap::new(),
                message: auth::LoginRequest { email, password: PASSWORD.to_owned() },
            }),
        })
    }

    fn users_me_op(
        &self,
        transport: Transport,
        worker: usize,
        md: &MetadataMap,
    ) -> anyhow::Result<Box<dyn Op>> {
        Ok(match transport {
            Transport::Rest => self.rest_op(Method::GET, "/users/me", None, StatusCode::OK)?,
            Transport::Grpc => Box::new(GrpcUsersMe {
                client: UserClient::new(self.channels.auth(worker)),
                md: md.clone(),
                message: auth::GetCurrentUserRequest {},
            }),
        })
    }

    /// Builds `concurrency` workers (and, for `mixed`, `storm` background login workers).
    pub async fn workers(
        &self,
        scenario: Scenario,
        transport: Transport,
        concurrency: usize,
        storm: usize,
    ) -> anyhow::Result<Workers> {
        let md = metadata(Some(&self.token), self.org())?;
        let fx = &self.fx;
        let mut w =
            Workers { ops: Vec::with_capacity(concurrency), background: Vec::new(), notes: Vec::new() };
        if scenario == Scenario::RefreshChain {
            return self.refresh_workers(transport, concurrency).await;
        }
        // Logins are capped: the product throttles at 20 reserved attempts per client address
        // (and 5 per account), and every bench worker shares 127.0.0.1.
        let workers =
            if scenario == Scenario::Login { concurrency.min(self.login_concurrency) } else { concurrency };
        for i in 0..workers {
            let op: Box<dyn Op> = match (scenario, transport) {
                (Scenario::Floor, Transport::Rest) => {
                    let request = Prepared::new(&self.rest, Method::GET, "", None, None, None, StatusCode::OK)?
                        .at_root("/health")?;
                    Box::new(RestOp { conn: RestConn::new(self.rest.clone()), request })
                }
                (Scenario::Floor, Transport::Grpc) => Box::new(GrpcHealth {
                    client: HealthClient::new(self.channels.auth(i)),
                    md: MetadataMap::new(),
                    message: tonic_health::pb::HealthCheckRequest { service: String::new() },
                }),
                (Scenario::UsersMe | Scenario::Mixed, _) => self.users_me_op(transport, i, &md)?,
                (Scenario::Login, _) => self.login_op(transport, i)?,
                (Scenario::ListProjects | Scenario::ListProjectsApiKey, Transport::Rest) => {
                    self.rest_op(Method::GET, "/projects?limit=20", None, StatusCode::OK)?
                }
                (Scenario::ListProjects | Scenario::ListProjectsApiKey, Transport::Grpc) => Box::new(GrpcListProjects {
                    client: ProjectClient::new(self.channels.work(i)),
                    md: md.clone(),
                    message: work::ListProjectsRequest { page: page(20), ..Default::default() },
                }),
                (Scenario::ListTasksTodo, Transport::Rest) => {
                    let path = format!("/tasks?project_id={}&status=TODO", fx.tasks_project_id);
                    self.rest_op(Method::GET, &path, None, StatusCode::OK)?
                }
                (Scenario::ListTasksTodo, Transport::Grpc) => Box::new(GrpcListTasks {
                    client: TaskClient::new(self.channels.work(i)),
                    md: md.clone(),
                    message: work::ListTasksRequest {
                        page: page(20),
                        project_id: Some(fx.tasks_project_id.clone()),
                        statuses: vec![work::TaskStatus::Todo as i32],
                        ..Default::default()
                    },
                }),
                (Scenario::FirstPage | Scenario::DeepPage, Transport::Rest) => {
                    let mut path = format!("/tasks?project_id={}&limit=20", fx.deep_project_id);
                    if scenario == Scenario::DeepPage {
                        path.push_str(&format!("&page_token={}", fx.deep_page_token));
                    }
                    self.rest_op(Method::GET, &path, None, StatusCode::OK)?
                }
                (Scenario::FirstPage | Scenario::DeepPage, Transport::Grpc) => Box::new(GrpcListTasks {
                    client: TaskClient::new(self.channels.work(i)),
                    md: md.clone(),
                    message: work::ListTasksRequest {
                        page: if scenario == Scenario::DeepPage { page_after(20, &fx.deep_page_token) } else { page(20) },
                        project_id: Some(fx.deep_project_id.clone()),
                        ..Default::default()
                    },
                }),
                (Scenario::CreateTask | Scenario::CreateTaskWebhook, Transport::Rest) => self.rest_op(
                    Method::POST,
                    "/tasks",
                    Some(json!({"project_id": fx.sink_project_id, "title": "bench load task", "priority": "HIGH"})),
                    StatusCode::CREATED,
                )?,
                (Scenario::CreateTask | Scenario::CreateTaskWebhook, Transport::Grpc) => Box::new(GrpcCreateTask {
                    client: TaskClient::new(self.channels.work(i)),
                    md: md.clone(),
                    message: work::CreateTaskRequest {
                        project_id: fx.sink_project_id.clone(),
                        title: "bench load task".to_owned(),
                        priority: work::TaskPriority::High as i32,
                        ..Default::default()
                    },
                }),
                (Scenario::CreateTaskIdempotent, Transport::Rest) => {
                    let body = json!({"project_id": fx.sink_project_id, "title": "bench load task", "priority": "HIGH"});
                    let request = Prepared::new(
                        &self.rest,
                        Method::POST,
                        "/tasks",
                        Some(&self.token),
                        self.org(),
                        Some(&body),
                        StatusCode::CREATED,
                    )?;
                    Box::new(RestIdempotent {
                        conn: RestConn::new(self.rest.clone()),
                        request,
                        prefix: format!("bench-{}-{i}", uuid::Uuid::new_v4().simple()),
                        n: 0,
                    })
                }
                (Scenario::CreateTaskIdempotent, Transport::Grpc) => Box::new(GrpcCreateTaskIdempotent {
                    client: TaskClient::new(self.channels.work(i)),
                    md: md.clone(),
                    message: work::CreateTaskRequest {
                        project_id: fx.sink_project_id.clone(),
                        title: "bench load task".to_owned(),
                        priority: work::TaskPriority::High as i32,
                        ..Default::default()
                    },
                    prefix: format!("bench-{}-{i}", uuid::Uuid::new_v4().simple()),
                    n: 0,
                }),
                (Scenario::RefreshChain, _) => unreachable_refresh()?,
            };
            w.ops.push(op);
        }
        if scenario == Scenario::Mixed {
            for i in 0..storm.min(self.login_concurrency) {
                w.background.push(self.login_op(transport, i)?);
            }
        }
        Ok(w)
    }

    /// Each worker logs in once (concurrently, before the clock starts) and then chains
    /// refreshes on its own session.
    async fn refresh_workers(&self, transport: Transport, concurrency: usize) -> anyhow::Result<Workers> {
        let gate = Arc::new(tokio::sync::Semaphore::new(self.login_concurrency.max(1)));
        let logins = (0..concurrency).map(|i| {
            let email = self.login_email(i);
            let mut api = match transport {
                Transport::Rest => Api::rest(self.rest.clone()),
                Transport::Grpc => Api::grpc(self.channels.clone()),
            };
            let gate = gate.clone();
            async move {
                let _permit = gate.acquire().await;
                api.login(&email, PASSWORD).await
            }
        });
        let mut w =
            Workers { ops: Vec::with_capacity(concurrency), background: Vec::new(), notes: Vec::new() };
        let refresh = Prepared::new(
            &self.rest,
            Method::POST,
            "/auth/refresh",
            None,
            None,
            Some(&json!({})),
            StatusCode::OK,
        )?;
        for (i, login) in join_all(logins).await.into_iter().enumerate() {
            match login {
                Ok(tokens) => w.ops.push(match transport {
                    Transport::Rest => Box::new(RestRefresh {
                        conn: RestConn::new(self.rest.clone()),
                        request: refresh.clone(),
                        refresh: tokens.refresh,
                    }),
                    Transport::Grpc => Box::new(GrpcRefresh {
                        client: AuthClient::new(self.channels.auth(i)),
                        refresh: tokens.refresh,
                    }),
                }),
                Err(e) => {
                    if w.notes.is_empty() {
                        w.notes.push(format!("worker login failed: {e}"));
                    }
                    w.ops.push(Box::new(Broken(e)));
                }
            }
        }
        Ok(w)
    }
}

fn unreachable_refresh() -> anyhow::Result<Box<dyn Op>> {
    anyhow::bail!("refresh_chain workers are built by refresh_workers")
}
