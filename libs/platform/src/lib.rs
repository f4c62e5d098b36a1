//! Shared platform of every Operant service.
//!
//! Modules, in layers: each one uses only modules below it (checked by `tests/layers.rs`).
//!
//! ```text
//!  6  grpc            the server: services + health + reflection + grpc-web + CORS + drain
//!      |
//!  5  call_context    per-call layer: request id, trace, span, authentication, metrics, OTLP span
//!      |
//!  4  principal       who is calling (Caller, Access), the Authenticator
//!     keysync         keeps a verifier's keys and revocations in step with auth (and the
//!                     API keys' revocations with tenancy) over gRPC
//!     outbox          a service's transactional event outbox and its relay to the events service
//!      |
//!  3  tokens          access-token verification (Ed25519 JWTs), the verified-token cache
//!     apikeys         API-key verification: digest, format, the resolved-key cache
//!     clients         channels to other services presenting the service credential
//!     otlp            OTLP/gRPC exporter of server spans
//!      |
//!  2  metrics         Prometheus metrics and the admin `/metrics` endpoint
//!     idempotency     safe retries: `Idempotency-Key` / `request_id` kept with the effect
//!      |
//!  1  db              diesel-async pool, migrations, database health probe
//!     revocations     the revoked-session set
//!     balance         balanced, ejecting, retrying channel over endpoints
//!     paging          the typed page of every list (skip/limit bounds, `order_by` → `Sort`, signed cursors)
//!     sealed          sealed columns and re-sealing them with the current master key
//!      |
//!  0  error           ApiError → tonic::Status; `error::ErrorCode`, the registry of every code
//!     config          settings from `OPERANT_*` environment variables
//!     headers         every header / metadata key name
//!     shutdown        Shutdown signal, termination signals, bounded drain
//!     trace           W3C traceparent and request id of the current call
//!     telemetry       tracing subscriber setup
//! ```
//!
//! The uses, module by module: `grpc` → call_context, principal, metrics, otlp, db, config,
//! headers, shutdown; `call_context` → principal, metrics, otlp, headers, trace;
//! `principal` → tokens, apikeys, error, headers; `keysync` → tokens, apikeys, clients, error,
//! shutdown; `outbox` → clients, db, shutdown; `apikeys` → error;
//! `tokens` → revocations, error; `clients` → balance, config, headers, trace;
//! `otlp` → metrics, config, trace; `metrics` → db, shutdown; `idempotency` → db, sealed, error, headers, shutdown; `db` → config, error;
//! `paging` → error, config; `sealed` → config.

pub mod apikeys;
pub mod balance;
pub mod call_context;
pub mod clients;
pub mod config;
pub mod db;
pub mod error;
pub mod grpc;
pub mod headers;
pub mod idempotency;
pub mod keysync;
pub mod metrics;
pub mod otlp;
pub mod outbox;
pub mod paging;
pub mod principal;
pub mod revocations;
pub mod sealed;
pub mod shutdown;
pub mod telemetry;
pub mod tokens;
pub mod trace;
