//! The handful of product operations the tool needs outside the measured loops (fixtures,
//! per-worker logins), over either transport. Each returns what the next step needs.

use std::sync::Arc;

use http::{Method, StatusCode};
use operant_proto::auth::v1 as auth;
use operant_proto::tenancy::v1 as tenancy;
use operant_proto::work::v1 as work;
use serde_json::{Value, json};

use crate::driver::Failure;
use crate::grpc::{Channels, metadata, request};
use crate::rest::{Prepared, RestConn, RestTarget};

/// An access/refresh token pair.
#[derive(Debug, Clone)]
pub struct Tokens {
    pub access: String,
    pub refresh: String,
}

/// A client for setup calls over one transport.
pub enum Api {
    Rest { target: Arc<RestTarget>, conn: RestConn },
    Grpc { channels: Channels },
}

fn field(value: &Value, name: &str) -> Result<String, Failure> {
    value
        .get(name)
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| Failure::new("shape", format!("no string `{name}` in {value}")))
}

fn setup_err(e: anyhow::Error) -> Failure {
    Failure::new("setup", e.to_string())
}

fn grpc_err(e: tonic::Status) -> Failure {
    Failure::from_status(&e)
}

fn missing(what: &str) -> Failure {
    Failure::new("shape", format!("response without {what}"))
}

impl Api {
    pub fn rest(target: Arc<RestTarget>) -> Self {
        Self::Rest { conn: RestConn::new(target.clone()), target }
    }

    pub fn grpc(channels: Channels) -> Self {
        Self::Grpc { channels }
    }

    /// Another client of the same target (its own REST connection), for parallel setup.
    pub fn fork(&self) -> Self {
        match self {
            Self::Rest { target, .. } => Self::rest(target.clone()),
            Self::Grpc { channels } => Self::grpc(channels.clone()),
        }
    }

    /// Reads one page (`limit`, default order) of the project's tasks after `page_token` (empty:
    /// the first page) and answers its `next_page_token` (empty on the last page).
    pub async fn next_task_page(
        &mut self,
        token: &str,
        org: &str,
        project: &str,
        page_token: &str,
        limit: i32,
    ) -> Result<String, Failure> {
        match self {
            Self::Rest { .. } => {
                let mut path = format!("/tasks?project_id={project}&limit={limit}");
                if !page_token.is_empty() {
                    path.push_str(&format!("&page_token={page_token}"));
                }
                let v =
                    self.rest_call(Method::GET, &path, Some(token), Some(org), None, StatusCode::OK).await?;
                Ok(v.get("next_page_token").and_then(Value::as_str).unwrap_or_default().to_owned())
            }
            Self::Grpc { channels } => {
                let md = metadata(Some(token), Some(org)).map_err(setup_err)?;
                let mut client = work::task_service_client::TaskServiceClient::new(channels.work(0));
                let message = work::ListTasksRequest {
                    page: Some(operant_proto::common::v1::PageRequest {
                        skip: 0,
                        limit,
                        order_by: String::new(),
                        page_token: page_token.to_owned(),
                    }),
                    project_id: Some(project.to_owned()),
                    ..Default::default()
                };
                let page =
                    client.list_tasks(request(message, &md)).await.map_err(grpc_err)?.into_inner().page;
                Ok(page.map(|p| p.next_page_token).unwrap_or_default())
            }
        }
    }

    async fn rest_call(
        &mut self,
        method: Method,
        path: &str,
        token: Option<&str>,
        org: Option<&str>,
        body: Option<Value>,
        expect: StatusCode,
    ) -> Result<Value, Failure> {
        let Self::Rest { target, conn } = self else {
            return Err(Failure::new("setup", "not a REST client"));
        };
        let prepared =
            Prepared::new(target, method, path, token, org, body.as_ref(), expect).map_err(setup_err)?;
        let bytes = conn.send(&prepared).await?;
        if bytes.is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_slice(&bytes).map_err(|e| Failure::new("json", e.to_string()))
    }

    pub async fn register(&mut self, email: &str, password: &str) -> Result<(), Failure> {
        match self {
            Self::Rest { .. } => {
                let body = json!({"email": email, "password": password, "full_name": "Bench User"});
                self.rest_call(Method::POST, "/auth/register", None, None, Some(body), StatusCode::CREATED)
                    .await
                    .map(drop)
            }
            Self::Grpc { channels } => {
                let mut client = auth::auth_service_client::AuthServiceClient::new(channels.auth(0));
                let message = auth::RegisterRequest {
                    request_id: String::new(),
                    email: email.to_owned(),
                    password: password.to_owned(),
                    full_name: Some("Bench User".to_owned()),
                };
                client.register(message).await.map(drop).map_err(grpc_err)
            }
        }
    }

    pub async fn login(&mut self, email: &str, password: &str) -> Result<Tokens, Failure> {
        match self {
            Self::Rest { .. } => {
                let body = json!({"email": email, "password": password});
                let v = self
                    .rest_call(Method::POST, "/auth/login", None, None, Some(body), StatusCode::OK)
                    .await?;
                Ok(Tokens { access: field(&v, "access_token")?, refresh: field(&v, "refresh_token")? })
            }
            Self::Grpc { channels } => {
                let mut client = auth::auth_service_client::AuthServiceClient::new(channels.auth(0));
                let message = auth::LoginRequest { email: email.to_owned(), password: password.to_owned() };
                let tokens = client.login(message).await.map_err(grpc_err)?.into_inner().tokens;
                let tokens = tokens.ok_or_else(|| missing("tokens"))?;
                Ok(Tokens { access: tokens.access_token, refresh: tokens.refresh_token })
            }
        }
    }

    /// Creates an organization and moves it to PRO; returns its id.
    pub async fn create_pro_org(&mut self, token: &str, name: &str, slug: &str) -> Result<String, Failure> {
        match self {
            Self::Rest { .. } => {
                let body = json!({"name": name, "slug": slug});
                let v = self
                    .rest_call(
                        Method::POST,
                        "/organizations",
                        Some(token),
                        None,
                        Some(body),
                        StatusCode::CREATED,
                    )
                    .await?;
                let id = field(&v, "id")?;
                let path = format!("/organizations/{id}/subscription");
                let body = json!({"plan": "PRO"});
                self.rest_call(Method::PUT, &path, Some(token), Some(&id), Some(body), StatusCode::OK)
                    .await?;
                Ok(id)
            }
            Self::Grpc { channels } => {
                let md = metadata(Some(token), None).map_err(setup_err)?;
                let mut orgs =
                    tenancy::organization_service_client::OrganizationServiceClient::new(channels.tenancy(0));
                let message = tenancy::CreateOrganizationRequest {
                    request_id: String::new(),
                    name: name.to_owned(),
                    slug: slug.to_owned(),
                };
                let org = orgs.create_organization(request(message, &md)).await.map_err(grpc_err)?;
                let id = org.into_inner().organization.ok_or_else(|| missing("organization"))?.id;
                let md = metadata(Some(token), Some(&id)).map_err(setup_err)?;
                let mut subs =
                    tenancy::subscription_service_client::SubscriptionServiceClient::new(channels.tenancy(0));
                let message = tenancy::UpdateSubscriptionRequest {
                    request_id: String::new(),
                    organization_id: id.clone(),
                    plan: tenancy::Plan::Pro as i32,
                };
                subs.update_subscription(request(message, &md)).await.map_err(grpc_err)?;
                Ok(id)
            }
        }
    }

    pub async fn create_project(&mut self, token: &str, org: &str, name: &str) -> Result<String, Failure> {
        match self {
            Self::Rest { .. } => {
                let body = json!({"name": name, "description": "created by operant-bench"});
                let v = self
                    .rest_call(
                        Method::POST,
                        "/projects",
                        Some(token),
                        Some(org),
                        Some(body),
                        StatusCode::CREATED,
                    )
                    .await?;
                field(&v, "id")
            }
            Self::Grpc { channels } => {
                let md = metadata(Some(token), Some(org)).map_err(setup_err)?;
                let mut client = work::project_service_client::ProjectServiceClient::new(channels.work(0));
                let message = work::CreateProjectRequest {
                    request_id: String::new(),
                    name: name.to_owned(),
                    description: Some("created by operant-bench".to_owned()),
                };
                let project = client.create_project(request(message, &md)).await.map_err(grpc_err)?;
                Ok(project.into_inner().project.ok_or_else(|| missing("project"))?.id)
            }
        }
    }

    /// Creates an organization API key (role MEMBER); returns its secret.
    pub async fn create_api_key(&mut self, token: &str, org: &str) -> Result<String, Failure> {
        match self {
            Self::Rest { .. } => {
                let body = json!({"name": "operant-bench", "role": "MEMBER"});
                let path = format!("/organizations/{org}/api-keys");
                let v = self
                    .rest_call(Method::POST, &path, Some(token), None, Some(body), StatusCode::CREATED)
                    .await?;
                field(&v, "key")
            }
            Self::Grpc { channels } => {
                let md = metadata(Some(token), None).map_err(setup_err)?;
                let mut client =
                    tenancy::api_key_service_client::ApiKeyServiceClient::new(channels.tenancy(0));
                let message = tenancy::CreateApiKeyRequest {
                    request_id: String::new(),
                    organization_id: org.to_owned(),
                    name: "operant-bench".to_owned(),
                    role: tenancy::Role::Member as i32,
                    expires_at: None,
                };
                Ok(client.create_api_key(request(message, &md)).await.map_err(grpc_err)?.into_inner().key)
            }
        }
    }

    /// `status` is the REST spelling (`TODO`, `IN_PROGRESS`, `DONE`).
    pub async fn create_task(
        &mut self,
        token: &str,
        org: &str,
        project: &str,
        title: &str,
        status: &str,
    ) -> Result<(), Failure> {
        match self {
            Self::Rest { .. } => {
                let body =
                    json!({"project_id": project, "title": title, "status": status, "priority": "HIGH"});
                self.rest_call(
                    Method::POST,
                    "/tasks",
                    Some(token),
                    Some(org),
                    Some(body),
                    StatusCode::CREATED,
                )
                .await
                .map(drop)
            }
            Self::Grpc { channels } => {
                let md = metadata(Some(token), Some(org)).map_err(setup_err)?;
                let mut client = work::task_service_client::TaskServiceClient::new(channels.work(0));
                let status = match status {
                    "IN_PROGRESS" => work::TaskStatus::InProgress,
                    "DONE" => work::TaskStatus::Done,
                    _ => work::TaskStatus::Todo,
                };
                let message = work::CreateTaskRequest {
                    project_id: project.to_owned(),
                    title: title.to_owned(),
                    status: status as i32,
                    priority: work::TaskPriority::High as i32,
                    ..Default::default()
                };
                client.create_task(request(message, &md)).await.map(drop).map_err(grpc_err)
            }
        }
    }
}
