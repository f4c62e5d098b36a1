//! Every header (gRPC metadata key) name Operant sends or reads across a hop, in one place so
//! the gateway, the clients and the servers cannot spell one differently.
//!
//! A bottom layer: plain constants, no dependencies.

/// The service credential presented by one Operant service to another.
pub const SERVICE_TOKEN_HEADER: &str = "x-operant-service-token";
/// The tenant of an organization-scoped call.
pub const ORGANIZATION_HEADER: &str = "x-organization-id";
/// The request id (generated when absent, echoed on the answer).
pub const REQUEST_ID_HEADER: &str = "x-request-id";
/// The W3C trace context ([`crate::trace`]).
pub const TRACEPARENT_HEADER: &str = "traceparent";
/// Set by a trusted hop (the gateway): the end user's address.
pub const FORWARDED_FOR_HEADER: &str = "x-forwarded-for";
/// Set by a trusted hop (the gateway): the end user's user agent.
pub const FORWARDED_USER_AGENT_HEADER: &str = "x-forwarded-user-agent";
/// Set on the answer of a retried request (same `Idempotency-Key` / `request_id`): the stored
/// first answer replayed, nothing executed again. REST: `Idempotent-Replayed: true`.
pub const IDEMPOTENT_REPLAYED_HEADER: &str = "idempotent-replayed";
/// The REST header carrying a request's idempotency key (gRPC: the message's `request_id`).
pub const IDEMPOTENCY_KEY_HEADER: &str = "idempotency-key";
