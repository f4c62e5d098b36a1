//! Request extractors whose every failure is an [`HttpError`] in the documented body, never one
//! of axum's plain-text rejections.
//!
//! - [`JsonBody`] / [`OptionalJsonBody`]: the body must be `application/json` (415
//!   `UNSUPPORTED_MEDIA_TYPE`), within the size limit (413 `PAYLOAD_TOO_LARGE`), well-formed (400
//!   `INVALID_JSON`), an object (422) whose fields have the right types (422 `VALIDATION_ERROR`
//!   naming the field, found with `serde_path_to_error`). The object's keys are kept so that
//!   PUT/PATCH can build a field mask from what the client actually sent (an explicit `null`
//!   clears a field; a missing key leaves it alone).
//! - [`PathParams`] and [`QueryParams`]: raw strings parsed by the handlers' parameter types,
//!   so a bad UUID or number is a 422 naming the parameter.
//! - [`IfMatch`]: the `If-Match` version precondition.

use std::collections::BTreeSet;

use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, FromRequestParts, RawPathParams, Request};
use bytes::Bytes;
use chrono::{DateTime, NaiveDate, Utc};
use http::request::Parts;
use http::{StatusCode, header};
use serde::de::DeserializeOwned;
use uuid::Uuid;

use operant_platform::error::ErrorCode;

use crate::error::{HttpError, HttpResult};

/// A JSON object body deserialized into `T`, with the keys that were present.
#[derive(Debug)]
pub struct JsonBody<T> {
    pub value: T,
    pub keys: BTreeSet<String>,
}

impl<T> JsonBody<T> {
    /// Whether the client sent this key (even as `null`).
    pub fn has(&self, key: &str) -> bool {
        self.keys.contains(key)
    }
}

/// [`JsonBody`] or nothing: an empty body (or `null`) is `None` whatever its content type.
#[derive(Debug)]
pub struct OptionalJsonBody<T>(pub Option<JsonBody<T>>);

fn is_json(content_type: Option<&http::HeaderValue>) -> bool {
    let Some(mime) = content_type.and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let essence = mime.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"))
}

async fn read_body<S: Send + Sync>(
    req: Request,
    state: &S,
) -> HttpResult<(Option<http::HeaderValue>, Bytes)> {
    let content_type = req.headers().get(header::CONTENT_TYPE).cloned();
    let bytes = Bytes::from_request(req, state).await.map_err(|rejection| match rejection {
        BytesRejection::FailedToBufferBody(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            payload_too_large()
        }
        other => HttpError::new(ErrorCode::InvalidBody, format!("could not read the body: {other}")),
    })?;
    Ok((content_type, bytes))
}

/// 413 `PAYLOAD_TOO_LARGE`.
pub fn payload_too_large() -> HttpError {
    HttpError::new(ErrorCode::PayloadTooLarge, "the request body is too large")
}

fn parse_json<T: DeserializeOwned>(
    content_type: Option<&http::HeaderValue>,
    bytes: &[u8],
) -> HttpResult<JsonBody<T>> {
    if !is_json(content_type) {
        return Err(HttpError::new(
            ErrorCode::UnsupportedMediaType,
            "the body must be JSON with `Content-Type: application/json`",
        ));
    }
    let value = serde_json::from_slice::<StrictValue>(bytes)
        .map_err(|e| HttpError::new(ErrorCode::InvalidJson, format!("the body is not valid JSON: {e}")))?
        .0;
    let keys = match &value {
        serde_json::Value::Object(map) => map.keys().cloned().collect(),
        _ => return Err(HttpError::validation("body", "expected a JSON object")),
    };
    let value = serde_path_to_error::deserialize(&value).map_err(|e| {
        let message = e.inner().to_string();
        let path = e.path().to_string();
        let field = if path == "." || path.is_empty() {
            // `missing field `x`` is reported at the parent: name the field itself.
            message.split('`').nth(1).map(str::to_owned).unwrap_or_else(|| "body".to_owned())
        } else {
            path
        };
        HttpError::validation(field, message)
    })?;
    Ok(JsonBody { value, keys })
}

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = HttpError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let (content_type, bytes) = read_body(req, state).await?;
        parse_json(content_type.as_ref(), &bytes)
    }
}

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for OptionalJsonBody<T> {
    type Rejection = HttpError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let (content_type, bytes) = read_body(req, state).await?;
        // No body, or the JSON `null` (what the document's `oneOf: [null, …]` allows).
        if bytes.iter().all(u8::is_ascii_whitespace) || bytes.trim_ascii() == b"null" {
            return Ok(Self(None));
        }
        parse_json(content_type.as_ref(), &bytes).map(|body| Self(Some(body)))
    }
}

/// Path parameters as strings, parsed by name.
#[derive(Debug)]
pub struct PathParams(Vec<(String, String)>);

impl PathParams {
    fn raw(&self, name: &str) -> HttpResult<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .ok_or_else(|| HttpError::validation(name, "missing path parameter"))
    }

    /// The parameter `name` as a UUID (422 naming it otherwise).
    pub fn uuid(&self, name: &str) -> HttpResult<Uuid> {
        parse_uuid(name, self.raw(name)?)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for PathParams {
    type Rejection = HttpError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let raw = RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|e| HttpError::validation("path", e.body_text()))?;
        Ok(Self(raw.iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect()))
    }
}

/// Query parameters as decoded `(name, value)` pairs; repeated names are kept.
#[derive(Debug, Default)]
pub struct QueryParams(Vec<(String, String)>);

impl<S: Send + Sync> FromRequestParts<S> for QueryParams {
    type Rejection = HttpError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or("");
        Ok(Self(form_urlencoded::parse(query.as_bytes()).into_owned().collect()))
    }
}

impl QueryParams {
    /// The last value of `name`, if present and not empty (for text whose empty value means
    /// "none": `q`, `order_by`).
    pub fn one(&self, name: &str) -> Option<&str> {
        self.given(name).filter(|v| !v.is_empty())
    }

    /// The last value of `name` exactly as sent, if the parameter is present at all.
    pub fn untrimmed(&self, name: &str) -> Option<&str> {
        self.0.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// The last value of `name`, trimmed, if the parameter is present at all: `project_id=` is
    /// an empty UUID, which is invalid (the document says `format: uuid`), not an absent one.
    pub fn given(&self, name: &str) -> Option<&str> {
        self.0.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v.trim())
    }

    /// Every value of `name`, repeated and/or comma-separated (an empty one included, so that
    /// `status=` is refused like any value outside the enum).
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.0.iter().filter(|(k, _)| k == name).flat_map(|(_, v)| v.split(',')).map(str::trim).collect()
    }

    pub fn int(&self, name: &str) -> HttpResult<Option<i32>> {
        self.given(name)
            .map(|v| v.parse::<i32>().map_err(|_| HttpError::validation(name, "expected an integer")))
            .transpose()
    }

    pub fn uuid(&self, name: &str) -> HttpResult<Option<Uuid>> {
        self.given(name).map(|v| parse_uuid(name, v)).transpose()
    }

    pub fn date_time(&self, name: &str) -> HttpResult<Option<DateTime<Utc>>> {
        self.given(name)
            .map(|v| parse_date_time(v).ok_or_else(|| HttpError::validation(name, DATE_EXPECTED)))
            .transpose()
    }

    pub fn string(&self, name: &str) -> Option<String> {
        self.one(name).map(str::to_owned)
    }
}

pub fn parse_uuid(name: &str, raw: &str) -> HttpResult<Uuid> {
    Uuid::parse_str(raw.trim()).map_err(|_| HttpError::validation(name, format!("not a valid UUID: {raw:?}")))
}

/// What date parameters accept.
pub const DATE_EXPECTED: &str = "expected an RFC 3339 date-time or a YYYY-MM-DD date";

/// An RFC 3339 date-time, or a plain `YYYY-MM-DD` date meaning midnight UTC.
pub fn parse_date_time(raw: &str) -> Option<DateTime<Utc>> {
    let raw = raw.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(raw) {
        return Some(t.with_timezone(&Utc));
    }
    NaiveDate::parse_from_str(raw, "%Y-%m-%d").ok().and_then(|d| d.and_hms_opt(0, 0, 0)).map(|t| t.and_utc())
}

/// The `If-Match` precondition as a version: `"3"`, `W/"3"` or `3`; `*` (or no header) means none.
#[derive(Debug, Clone, Copy, Default)]
pub struct IfMatch(pub Option<i64>);

impl<S: Send + Sync> FromRequestParts<S> for IfMatch {
    type Rejection = HttpError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let Some(value) = parts.headers.get(header::IF_MATCH) else {
            return Ok(Self(None));
        };
        let invalid = || HttpError::validation("If-Match", "expected a version ETag such as \"3\"");
        let raw = value.to_str().map_err(|_| invalid())?.trim();
        if raw == "*" {
            return Ok(Self(None));
        }
        let raw = raw.strip_prefix("W/").unwrap_or(raw);
        let raw = raw.strip_prefix('"').and_then(|r| r.strip_suffix('"')).unwrap_or(raw);
        raw.parse::<i64>().ok().filter(|v| *v >= 0).map(|v| Self(Some(v))).ok_or_else(invalid)
    }
}

/// The `ETag` value of a version.
pub fn etag(version: i64) -> [(header::HeaderName, String); 1] {
    [(header::ETAG, format!("\"{version}\""))]
}

/// A JSON value parsed strictly: an object with the same key twice is refused instead of
/// silently keeping the last value (which would let two parsers read one body differently).
struct StrictValue(serde_json::Value);

impl<'de> serde::Deserialize<'de> for StrictValue {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(StrictVisitor).map(StrictValue)
    }
}

struct StrictVisitor;

impl<'de> serde::de::Visitor<'de> for StrictVisitor {
    type Value = serde_json::Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
        Ok(v.into())
    }

    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(v.into())
    }

    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(v.into())
    }

    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Self::Value, E> {
        serde_json::Number::from_f64(v)
            .map(serde_json::Value::Number)
            .ok_or_else(|| E::custom("number out of range"))
    }

    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(v.into())
    }

    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(v.into())
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(serde_json::Value::Null)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut items = Vec::new();
        while let Some(StrictValue(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(serde_json::Value::Array(items))
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut object = serde_json::Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if object.contains_key(&key) {
                return Err(serde::de::Error::custom(format!("duplicate key `{key}`")));
            }
            let StrictValue(value) = map.next_value()?;
            object.insert(key, value);
        }
        Ok(serde_json::Value::Object(object))
    }
}
