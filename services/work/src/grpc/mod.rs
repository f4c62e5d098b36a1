//! The gRPC handlers (transport). Each one establishes who is calling (organization from
//! `x-organization-id`, verified user, and their standing from tenancy's `Authorize`), parses and
//! validates the proto message into domain values, calls the domain and maps the result back.

use operant_platform::principal::{caller, organization_id};

use crate::error::WorkError;
use crate::model::Standing;
use crate::peers::Peers;

pub mod convert;
pub mod internal;
pub mod projects;
pub mod tasks;

/// The caller's standing in the organization of the request: 400 without a valid
/// `x-organization-id`, 401 without a user, tenancy's 403 `NOT_A_MEMBER` for non-members.
pub(crate) async fn standing<T>(peers: &Peers, request: &tonic::Request<T>) -> Result<Standing, WorkError> {
    let organization_id = organization_id(request)?;
    let user_id = caller(request)?.require_user()?.user_id;
    peers.authorize(user_id, organization_id).await
}
