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

/// A UUID from a request field, or 422 naming the field.
fn parse_id(field: &str, value: &str) -> Result<Uuid, TenancyError> {
    let value = value.trim();
    if value.is_empty() {
        return Err(TenancyError::invalid(field, "is required"));
    }
    Uuid::parse_str(value).map_err(|_| TenancyError::invalid(field, "is not a valid UUID"))
}
