//! The per-worker [`Op`]s of the scenarios: one request (or a chain of them) per call, over REST
//! through the gateway or over gRPC straight to the owning service.

use bytes::Bytes;
use futures::future::BoxFuture;
use operant_proto::auth::v1 as auth;
use operant_proto::work::v1 as work;
use serde_json::json;
use tonic::metadata::MetadataMap;
use tonic::transport::Channel;

use crate::driver::{Failure, Op};
use crate::grpc::request;
use crate::rest::{Prepared, RestConn};

/// An op that always fails the same way (its preparation failed, e.g. the worker's login).
pub(super) struct Broken(pub(super) Failure);

impl Op for Broken {
    fn call(&mut self) -> BoxFuture<'_, Result<(), Failure>> {
        let failure = self.0.clone();
        Box::pin(async move { Err(failure) })
    }
}

pub(super) struct RestOp {
    pub(super) conn: RestConn,
    pub(super) request: Prepared,
}

impl Op for RestOp {
    fn call(&mut self) -> BoxFuture<'_, Result<(), Failure>> {
        Box::pin(async move { self.conn.send(&self.request).await.map(drop) })
    }
}

/// The same request each time with a fresh `Idempotency-Key` (`<worker prefix>-<n>`), so every
/// call takes the kept-answer path (lock, look-up, savepoint, store) and none is a replay.
pub(super) struct RestIdempotent {
    pub(super) conn: RestConn,
    pub(super) request: Prepared,
    pub(super) prefix: String,
    pub(super) n: u64,
}

impl Op for RestIdempotent {
    fn call(&mut self) -> BoxFuture<'_, Result<(), Failure>> {
        Box::pin(async move {
            self.n += 1;
            let key = format!("{}-{}", self.prefix, self.n);
            let request = self.request.with_header("idempotency-key", &key)?;
            self.conn.send(&request).await.map(drop)
        })
    }
}

/// [`RestIdempotent`] over gRPC: a fresh `request_id` per call.
pub(super) struct GrpcCreateTaskIdempotent {
    pub(super) client: TaskClient,
    pub(super) md: MetadataMap,
    pub(super) message: work::CreateTaskRequest,
    pub(super) prefix: String,
    pub(super) n: u64,
}

impl Op for GrpcCreateTaskIdempotent {
    fn call(&mut self) -> BoxFuture<'_, Result<(), Failure>> {
        Box::pin(async move {
            self.n += 1;
            let message = work::CreateTaskRequest {
                request_id: format!("{}-{}", self.prefix, self.n),
                ..self.message.clone()
            };
            self.client
                .create_task(request(message, &self.md))
                .await
                .map(drop)
                .map_err(|s| Failure::from_status(&s))
        })
    }
}

/// A refresh chain over REST: each answer's refresh token is the next request's.
pub(super) struct RestRefresh {
    pub(super) conn: RestConn,
    pub(super) request: Prepared,
    pub(super) refresh: String,
}

impl Op for RestRefresh {
    fn call(&mut self) -> BoxFuture<'_, Result<(), Failure>> {
        Box::pin(async move {
            let body = Bytes::from(json!({"refresh_token": self.refresh}).to_string());
            let answer = self.conn.send(&self.request.with_body(body)).await?;
            let value: serde_json::Value =
                serde_json::from_slice(&answer).map_err(|e| Failure::new("json", e.to_string()))?;
            let next = value.get("refresh_token").and_then(|v| v.as_str());
            self.refresh = next.ok_or_else(|| Failure::new("shape", "no refresh_token"))?.to_owned();
            Ok(())
        })
    }
}

/// Declares a gRPC op: a client, pre-built metadata and message, one RPC per call.
macro_rules! grpc_op {
    ($name:ident, $client:ty, $method:ident, $message:ty) => {
        pub(super) struct $name {
            pub(super) client: $client,
            pub(super) md: MetadataMap,
            pub(super) message: $message,
        }

        impl Op for $name {
            fn call(&mut self) -> BoxFuture<'_, Result<(), Failure>> {
                Box::pin(async move {
                    self.client
                        .$method(request(self.message.clone(), &self.md))
                        .await
                        .map(drop)
                        .map_err(|s| Failure::from_status(&s))
                })
            }
        }
    };
}

pub(super) type HealthClient = tonic_health::pb::health_client::HealthClient<Channel>;
pub(super) type UserClient = auth::user_service_client::UserServiceClient<Channel>;
pub(super) type AuthClient = auth::auth_service_client::AuthServiceClient<Channel>;
pub(super) type ProjectClient = work::project_service_client::ProjectServiceClient<Channel>;
pub(super) type TaskClient = work::task_service_client::TaskServiceClient<Channel>;

grpc_op!(GrpcHealth, HealthClient, check, tonic_health::pb::HealthCheckRequest);
grpc_op!(GrpcUsersMe, UserClient, get_current_user, auth::GetCurrentUserRequest);
grpc_op!(GrpcListProjects, ProjectClient, list_projects, work::ListProjectsRequest);
grpc_op!(GrpcListTasks, TaskClient, list_tasks, work::ListTasksRequest);
grpc_op!(GrpcCreateTask, TaskClient, create_task, work::CreateTaskRequest);
grpc_op!(GrpcLogin, AuthClient, login, auth::LoginRequest);

pub(super) struct GrpcRefresh {
    pub(super) client: AuthClient,
    pub(super) refresh: String,
}

impl Op for GrpcRefresh {
    fn call(&mut self) -> BoxFuture<'_, Result<(), Failure>> {
        Box::pin(async move {
            let message = auth::RefreshTokenRequest { refresh_token: self.refresh.clone() };
            let answer = self.client.refresh_token(message).await.map_err(|s| Failure::from_status(&s))?;
            let tokens = answer.into_inner().tokens.ok_or_else(|| Failure::new("shape", "no tokens"))?;
            self.refresh = tokens.refresh_token;
            Ok(())
        })
    }
}
