//! The gRPC transport: each handler establishes the caller, parses and validates the proto
//! message (ids, enums, paging → 422 naming the field), calls one domain operation and maps the
//! result back to proto. No rule lives here.

mod api_keys;
mod convert;
mod internal;
mod invitations;
mod members;
mod organizations;
mod subscriptions;

pub use api_keys::ApiKeyApi;
pub use internal::InternalApi;
pub use invitations::InvitationApi;
pub use members::MemberApi;
pub use organizations::OrganizationApi;
pub use subscriptions::SubscriptionApi;

use operant_platform::principal::caller;
use uuid::Uuid;

use crate::domain::Actor;
use crate::error::TenancyError;

/// The verified end user of a person-only request (an API key is 403 `API_KEY_NOT_ALLOWED`).
fn user_id<T>(request: &tonic::Request<T>) -> Result<Uuid, TenancyError> {
    Ok(caller(request)?.require_user()?.user_id)
}

/// The user or API key of an organization-scoped request.
fn actor<T>(request: &tonic::Request<T>) -> Result<Actor, TenancyError> {
    Ok(caller(request)?.actor()?)
}

/// The idempotency key of a request (`request_id`), scoped to the acting user or API key and
/// fingerprinted with the message without its `request_id` (which names the organization).
fn idempotency_key<M: prost::Message + Clone>(
    actor: &Actor,
    route: &'static str,
    message: &M,
    request_id: &str,
    clear: impl FnOnce(&mut M),
) -> Result<Option<operant_platform::idempotency::Key>, TenancyError> {
    if request_id.is_empty() {
        return Ok(None);
    }
    let mut bare = message.clone();
    clear(&mut bare);
    let scope = match actor {
        Actor::User(id) => format!("USER:{id}"),
        Actor::ApiKey(key) => format!("API_KEY:{}", key.key_id),
    };
    Ok(operant_platform::idempotency::Key::new(request_id, route, &scope, &[&bare.encode_to_vec()])?)
}

/// A UUID from a request field, or 422 naming the field.
fn parse_id(field: &str, value: &str) -> Result<Uuid, TenancyError> {
    let value = value.trim();
    if value.is_empty() {
        return Err(TenancyError::invalid(field, "is required"));
    }
    Uuid::parse_str(value).map_err(|_| TenancyError::invalid(field, "is not a valid UUID"))
}
