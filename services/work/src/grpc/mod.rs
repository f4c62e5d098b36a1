//! The gRPC handlers (transport). Each one establishes who is calling (organization from
//! `x-organization-id` (optional for an API key), verified user or API key, and their standing
//! from tenancy's `Authorize`), parses and
//! validates the proto message into domain values, calls the domain and maps the result back.

use operant_platform::principal::{Actor, caller, organization_id};
use uuid::Uuid;

use crate::error::WorkError;
use crate::model::Standing;
use crate::peers::Peers;

pub mod convert;
pub mod internal;
pub mod projects;
pub mod tasks;

/// The idempotency key of a request (`request_id`), scoped to the acting user or API key and
/// fingerprinted with the organization and the message without its `request_id`.
pub(crate) fn idempotency_key<M: prost::Message + Clone>(
    who: &Standing,
    route: &'static str,
    request_id: &str,
    message: &M,
    clear: impl FnOnce(&mut M),
) -> Result<Option<operant_platform::idempotency::Key>, WorkError> {
    if request_id.is_empty() {
        return Ok(None);
    }
    let mut bare = message.clone();
    clear(&mut bare);
    let scope = format!("{}:{}", who.actor_type, who.actor_id);
    Ok(operant_platform::idempotency::Key::new(
        request_id,
        route,
        &scope,
        &[who.organization_id.as_bytes(), &bare.encode_to_vec()],
    )?)
}

/// The caller's standing in the organization of the request: 400 without a valid
/// `x-organization-id` (a key's own organization when absent), 401 without a user or key,
/// 403 `NOT_A_MEMBER` for non-members and for a key of another organization.
pub(crate) async fn standing<T>(peers: &Peers, request: &tonic::Request<T>) -> Result<Standing, WorkError> {
    let (actor, organization_id) = identify(request)?;
    peers.authorize(&actor, organization_id).await
}

/// Runs `call` with the caller's standing (as [`standing`]). When the domain refused on a
/// standing the cache answered ([`WorkError::StaleStanding`]), tenancy is asked afresh and
/// `call` runs once more with its answer: a caller promoted, or whose plan was upgraded, a
/// moment ago is never refused on the cache's older answer.
pub(crate) async fn with_standing<T, R, F>(
    peers: &Peers,
    request: &tonic::Request<T>,
    mut call: impl FnMut(Standing) -> F,
) -> Result<R, WorkError>
where
    F: Future<Output = Result<R, WorkError>>,
{
    let (actor, organization_id) = identify(request)?;
    let who = peers.authorize(&actor, organization_id).await?;
    match call(who).await {
        Err(WorkError::StaleStanding) => {
            let who = peers.authorize_fresh(&actor, organization_id).await?;
            call(who).await
        }
        answer => answer,
    }
}

/// Who is calling and in which organization, from the request alone (no network): 401 without
/// a user or key, 400 without a valid `x-organization-id`. A list handler validates its page
/// and filters after this and before [`Peers::authorize`], so a bad request never costs the
/// hop to tenancy.
pub(crate) fn identify<T>(request: &tonic::Request<T>) -> Result<(Actor, Uuid), WorkError> {
    let actor = caller(request)?.actor()?;
    let organization_id = organization_id(request)?;
    Ok((actor, organization_id))
}
