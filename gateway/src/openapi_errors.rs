//! The error responses of the OpenAPI document, generated from the registry of error codes
//! ([`ErrorCode`]): a set of codes becomes one response per HTTP status, each listing its codes
//! with their meaning, so the document can only advertise codes that exist, with their real
//! status. [`crate::openapi`] names these sets for whole families of routes; the responses a
//! handler declares itself are checked against the registry by the test below.

use std::collections::BTreeMap;

use operant_platform::error::ErrorCode::{self, *};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, Response, ResponseBuilder};

/// A JSON body can be unreadable, malformed, too large, of the wrong type or invalid.
pub const JSON_BODY: [ErrorCode; 5] =
    [InvalidBody, InvalidJson, PayloadTooLarge, UnsupportedMediaType, ValidationError];
/// Every way an access token or an organization API key can be refused (a key is throttled per
/// client address, and refused by the person-only routes).
pub const USER: [ErrorCode; 17] = [
    TokenMissing,
    TokenMalformed,
    TokenAlgorithmNotAllowed,
    TokenUnknownKey,
    TokenSignatureInvalid,
    TokenWrongAudience,
    TokenWrongIssuer,
    TokenExpired,
    TokenNotYetValid,
    TokenWrongType,
    TokenRevoked,
    ApiKeyMalformed,
    ApiKeyUnknown,
    ApiKeyExpired,
    ApiKeyRevoked,
    ApiKeyNotAllowed,
    TooManyAttempts,
];
/// A path or query parameter can be invalid.
pub const PARAMS: [ErrorCode; 1] = [ValidationError];
/// A list can be given a `page_token` that is not one of its own.
pub const LIST: [ErrorCode; 1] = [InvalidPageToken];
/// An organization-scoped route adds to [`USER`]: the tenant header and the membership.
pub const TENANT: [ErrorCode; 3] = [OrganizationRequired, InvalidOrganizationId, NotAMember];
/// Any route: a bug, an unreachable service or database, a service too slow.
pub const UPSTREAM: [ErrorCode; 4] =
    [InternalError, DatabaseUnavailable, ServiceUnavailable, UpstreamTimeout];

/// The error responses of a union of code sets: one per HTTP status, whose description lists
/// each code (once) with its meaning.
pub fn error_responses(sets: &[&[ErrorCode]]) -> BTreeMap<String, RefOr<Response>> {
    let mut merged: BTreeMap<u16, Vec<ErrorCode>> = BTreeMap::new();
    for code in sets.iter().flat_map(|s| s.iter().copied()) {
        let entry = merged.entry(code.http_status()).or_default();
        if !entry.contains(&code) {
            entry.push(code);
        }
    }
    merged
        .into_iter()
        .map(|(status, codes)| {
            let description =
                codes.iter().map(|c| format!("`{c}`: {}", c.meaning())).collect::<Vec<_>>().join("; ");
            let response = ResponseBuilder::new()
                .description(description)
                .content(
                    "application/json",
                    ContentBuilder::new().schema(Some(Ref::from_schema_name("ApiErrorBody"))).build(),
                )
                .build();
            (status.to_string(), RefOr::T(response))
        })
        .collect()
}
