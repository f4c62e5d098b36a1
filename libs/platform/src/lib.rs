//! Shared platform of every Operant service.
//!
//! - [`config`]: settings from `OPERANT_*` environment variables.
//! - [`error`]: the error → `tonic::Status` mapping with `ErrorInfo`/`BadRequest` details.
//! - [`db`]: the diesel-async connection pool, migrations and the database health probe.
//! - [`devdb`]: a private PostgreSQL server started from the installed binaries.
//! - [`paging`]: the typed page request of every list (skip/limit bounds, `order_by` → `Sort`).
//! - [`grpc`]: the server builder (health, reflection, grpc-web, CORS, graceful shutdown).
//! - [`principal`]: who is calling (end user or service) and the authentication interceptor.
//! - [`tokens`]: access-token verification (Ed25519 JWTs) and the revocation set.
//! - [`clients`], [`balance`]: channels to other services (balanced over endpoints, with
//!   ejection and retries) presenting the service credential.
//! - [`metrics`]: Prometheus metrics and the admin `/metrics` endpoint.
//! - [`telemetry`]: tracing setup.
//! - [`trace`]: W3C `traceparent` and request ids propagated across gRPC hops.
//! - [`otlp`]: the optional OTLP/gRPC exporter of server spans (`OPERANT_OTLP_ENDPOINT`).

pub mod balance;
pub mod clients;
pub mod config;
pub mod db;
pub mod devdb;
pub mod error;
pub mod grpc;
pub mod metrics;
pub mod otlp;
pub mod paging;
pub mod principal;
pub mod telemetry;
pub mod tokens;
pub mod trace;
