//! The services' input rules, stated in the OpenAPI document so that a client generated from it
//! (or a fuzzer) sends what the server accepts: lengths, patterns, formats, the enums a field
//! really takes, `null` only where it is accepted, and the formats of the headers and query
//! parameters. The derive macros cannot take a pattern from a constant, so the rules are one
//! table here, applied to the finished document ([`document`]); `tests/openapi_contract.rs` sends
//! each boundary to the running services.

use operant_platform::idempotency::MAX_KEY_CHARS;
use operant_platform::paging::MAX_TOKEN_CHARS;
use serde_json::{Map, Value, json};

use crate::models::{
    EMAIL_PATTERN, NAME_PATTERN, NO_CONTROL_PATTERN, NO_NUL_PATTERN, NOT_BLANK_PATTERN, SLUG_PATTERN,
    TITLE_PATTERN,
};

/// `If-Match`: `*`, or a version, quoted or not, optionally weak (what `extract::IfMatch` reads).
pub const IF_MATCH_PATTERN: &str = r#"^(\*|(W/)?("\+?[0-9]{1,18}"|\+?[0-9]{1,18}))$"#;
/// A user's UUID or `me` (any case).
pub const ASSIGNEE_PATTERN: &str =
    "^([Mm][Ee]|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})$";
/// `Idempotency-Key`: 1 to [`MAX_KEY_CHARS`] visible ASCII characters (otherwise 400
/// `INVALID_IDEMPOTENCY_KEY`).
pub const IDEMPOTENCY_KEY_PATTERN: &str = "^[!-~]+$";
/// `page_token`: empty (the first page) or a `next_page_token`, unpadded URL-safe base64 of at
/// most [`MAX_TOKEN_CHARS`] characters (otherwise 400 `INVALID_PAGE_TOKEN`, as for a token of
/// this shape that the list did not issue).
pub const PAGE_TOKEN_PATTERN: &str = "^[A-Za-z0-9_-]*$";
/// A hyphenated UUID (what `format: uuid` means; stated as a pattern too, since not every tool
/// checks formats).
pub const UUID_PATTERN: &str =
    "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$";

/// One or more event types, comma-separated (`resource.verb`, lowercase letters and `_`).
pub const EVENT_TYPES_PATTERN: &str = r"^[a-z_]{1,40}\.[a-z_]{1,40}(,[a-z_]{1,40}\.[a-z_]{1,40})*$";

/// Whether a field keeps `null` among its values.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Null {
    /// `null` means something (none, clear): keep it.
    Keep,
    /// The field may be left out but not sent as `null`.
    Refuse,
}

fn email() -> Value {
    // No `format`: `email` and `idn-email` are both stricter than the services, which take any
    // address of this shape (internationalized ones too); the pattern is their rule.
    json!({"pattern": EMAIL_PATTERN, "minLength": 3, "maxLength": 320})
}

fn password() -> Value {
    json!({"minLength": 8, "maxLength": 72,
        "description": "8 to 72 characters (Unicode code points, of any UTF-8 size; never truncated)."})
}

fn name() -> Value {
    json!({"pattern": NAME_PATTERN, "minLength": 1, "maxLength": 200})
}

fn title() -> Value {
    json!({"pattern": TITLE_PATTERN, "minLength": 1, "maxLength": 200})
}

fn description() -> Value {
    json!({"pattern": NO_NUL_PATTERN, "maxLength": 10000})
}

fn slug() -> Value {
    json!({"pattern": SLUG_PATTERN, "minLength": 2, "maxLength": 63})
}

fn full_name() -> Value {
    json!({"pattern": NO_CONTROL_PATTERN, "maxLength": 200})
}

fn token() -> Value {
    json!({"pattern": NOT_BLANK_PATTERN, "minLength": 1})
}

fn uuid() -> Value {
    json!({"format": "uuid", "pattern": UUID_PATTERN})
}

/// `ADMIN` or `MEMBER`: what can be invited or given to a key.
fn invitable_role() -> Value {
    json!({"type": "string", "enum": ["ADMIN", "MEMBER"]})
}

/// An RFC 3339 date-time or a `YYYY-MM-DD` date.
fn date_input() -> Value {
    json!({"anyOf": [{"type": "string", "format": "date-time"}, {"type": "string", "format": "date"}]})
}

/// A webhook URL the events service accepts outside production: `http(s)://`, a host name whose
/// labels start with a letter (an all-digit label would be read as an IPv4 address), an
/// optional path. Production also refuses `http://` (stated in the field's description).
pub const WEBHOOK_URL_PATTERN: &str =
    r"^https?://[a-z][a-z0-9]{0,20}(\.[a-z][a-z0-9]{0,20}){0,4}(/[A-Za-z0-9._~-]{0,40}){0,5}$";

fn webhook_url() -> Value {
    json!({"pattern": WEBHOOK_URL_PATTERN, "minLength": 8, "maxLength": 2048})
}

fn event_types() -> Value {
    json!({"minItems": 1, "maxItems": 50,
        "items": {"type": "string", "pattern": r"^[a-z_]{1,40}\.[a-z_]{1,40}$"}})
}

fn webhook_description() -> Value {
    json!({"pattern": NO_NUL_PATTERN, "maxLength": 500})
}

/// (schema, property, what to add, null).
fn body_rules() -> Vec<(&'static str, &'static str, Value, Null)> {
    use Null::{Keep, Refuse};
    vec![
        ("RegisterBody", "email", email(), Refuse),
        ("RegisterBody", "password", password(), Refuse),
        ("RegisterBody", "full_name", full_name(), Keep),
        ("LoginBody", "email", email(), Refuse),
        ("LoginBody", "password", json!({"minLength": 1}), Refuse),
        ("PasswordResetRequestBody", "email", email(), Refuse),
        ("PasswordResetConfirmBody", "token", token(), Refuse),
        ("PasswordResetConfirmBody", "new_password", password(), Refuse),
        ("TokenBody", "token", token(), Refuse),
        ("ChangePasswordBody", "current_password", json!({"minLength": 1}), Refuse),
        ("ChangePasswordBody", "new_password", password(), Refuse),
        ("UpdateMeBody", "full_name", full_name(), Refuse),
        ("CreateOrganizationBody", "name", name(), Refuse),
        ("CreateOrganizationBody", "slug", slug(), Refuse),
        ("UpdateOrganizationBody", "name", name(), Refuse),
        ("UpdateOrganizationBody", "slug", slug(), Refuse),
        ("CreateInvitationBody", "email", email(), Refuse),
        ("CreateInvitationBody", "role", invitable_role(), Refuse),
        ("AcceptInvitationBody", "token", token(), Refuse),
        ("CreateApiKeyBody", "name", name(), Refuse),
        ("CreateApiKeyBody", "role", invitable_role(), Refuse),
        ("CreateApiKeyBody", "expires_at", json!({}), Refuse),
        ("CreateProjectBody", "name", title(), Refuse),
        ("CreateProjectBody", "description", description(), Keep),
        ("UpdateProjectBody", "name", title(), Refuse),
        ("UpdateProjectBody", "description", description(), Keep),
        ("CreateTaskBody", "title", title(), Refuse),
        ("CreateTaskBody", "description", description(), Keep),
        ("CreateTaskBody", "due_date", date_input(), Keep),
        ("UpdateTaskBody", "title", title(), Refuse),
        ("UpdateTaskBody", "description", description(), Keep),
        ("UpdateTaskBody", "status", json!({}), Refuse),
        ("UpdateTaskBody", "priority", json!({}), Refuse),
        ("UpdateTaskBody", "due_date", date_input(), Keep),
        ("CreateTaskBody", "project_id", uuid(), Keep),
        ("CreateTaskBody", "assignee_id", uuid(), Keep),
        ("UpdateTaskBody", "assignee_id", uuid(), Keep),
        ("TransferOwnershipBody", "user_id", uuid(), Refuse),
        ("CreateWebhookBody", "url", webhook_url(), Refuse),
        ("CreateWebhookBody", "event_types", event_types(), Refuse),
        ("CreateWebhookBody", "description", webhook_description(), Refuse),
        ("UpdateWebhookBody", "url", webhook_url(), Refuse),
        ("UpdateWebhookBody", "event_types", event_types(), Refuse),
        ("UpdateWebhookBody", "enabled", json!({}), Refuse),
        ("UpdateWebhookBody", "description", webhook_description(), Refuse),
    ]
}

/// The `order_by` names of each list (`field`, `+field` or `-field`; empty is the default).
fn order_by(path: &str) -> Option<&'static [&'static str]> {
    Some(match path {
        "/api/v1/organizations" => &["name", "slug", "created_at"],
        "/api/v1/organizations/{id}/members" | "/api/v1/users" => &["joined_at", "email", "role"],
        "/api/v1/organizations/{id}/invitations" | "/api/v1/invitations" => {
            &["created_at", "expires_at", "email"]
        }
        // Always newest first.
        "/api/v1/organizations/{id}/api-keys" | "/api/v1/organizations/{id}/audit-log" => &["-created_at"],
        "/api/v1/projects" => &["created_at", "updated_at", "name"],
        // Always oldest first / newest first.
        "/api/v1/organizations/{id}/webhooks" => &["created_at"],
        "/api/v1/organizations/{id}/webhooks/{webhook_id}/deliveries" => &["-attempted_at"],
        "/api/v1/tasks" => &["created_at", "updated_at", "due_date", "priority", "title"],
        _ => return None,
    })
}

/// The document as served: `doc` with every rule and link applied. JSON rather than utoipa's
/// types, which cannot hold a link correctly (they spell `operationId` as `operation_id`).
pub fn document(doc: &utoipa::openapi::OpenApi) -> Value {
    let mut value = serde_json::to_value(doc).unwrap_or_else(|e| {
        tracing::error!(error = %e, "OpenAPI document not serializable");
        Value::Null
    });
    apply_value(&mut value);
    value
}

fn apply_value(doc: &mut Value) {
    for (schema, field, extra, null) in body_rules() {
        let pointer = format!("/components/schemas/{schema}/properties/{field}");
        if let Some(Value::Object(property)) = doc.pointer_mut(&pointer) {
            if null == Null::Refuse {
                refuse_null(property);
            }
            merge(property, extra);
        }
    }
    add_links(doc);
    let Some(Value::Object(paths)) = doc.get_mut("paths") else { return };
    for (path, item) in paths.iter_mut() {
        let Some(item) = item.as_object_mut() else { continue };
        for op in item.values_mut() {
            let Some(params) = op.get_mut("parameters").and_then(Value::as_array_mut) else { continue };
            for param in params.iter_mut().filter_map(Value::as_object_mut) {
                let name = param.get("name").and_then(Value::as_str).unwrap_or("").to_owned();
                let rule = match name.as_str() {
                    "If-Match" => json!({"type": "string", "pattern": IF_MATCH_PATTERN}),
                    "Idempotency-Key" => json!({"type": "string", "minLength": 1,
                        "maxLength": MAX_KEY_CHARS, "pattern": IDEMPOTENCY_KEY_PATTERN}),
                    "page_token" => json!({"type": "string", "maxLength": MAX_TOKEN_CHARS,
                        "pattern": PAGE_TOKEN_PATTERN}),
                    "assignee_id" => json!({"type": "string", "pattern": ASSIGNEE_PATTERN}),
                    "due_before" | "due_after" => date_input(),
                    // The change feed's cursor and event types (services/events/src/domain.rs).
                    "after" => json!({"type": "string", "pattern": "^[0-9]{1,18}$"}),
                    "type" => {
                        json!({"type": "array", "items": {"type": "string", "pattern": EVENT_TYPES_PATTERN}})
                    }
                    "q" => json!({"type": "string", "pattern": NO_NUL_PATTERN, "maxLength": 200}),
                    "order_by" => match order_by(path) {
                        Some(["-created_at"]) => json!({"type": "string", "pattern": "^(-created_at)?$"}),
                        Some(["-attempted_at"]) => json!({"type": "string", "pattern": "^(-attempted_at)?$"}),
                        Some(["created_at"]) => json!({"type": "string", "pattern": r"^(\+?created_at)?$"}),
                        Some(names) => json!({"type": "string",
                            "pattern": format!("^([+-]?({}))?$", names.join("|"))}),
                        None => continue,
                    },
                    _ if param.get("schema").and_then(|s| s.get("format")) == Some(&json!("uuid")) => {
                        json!({"type": "string", "format": "uuid", "pattern": UUID_PATTERN})
                    }
                    _ => continue,
                };
                param.insert("schema".into(), rule);
            }
        }
    }
}

/// Drops `null` from a property's type (`["string", "null"]` → `"string"`, `oneOf: [null, X]`
/// → `X`).
fn refuse_null(property: &mut Map<String, Value>) {
    if let Some(Value::Array(types)) = property.get_mut("type") {
        types.retain(|t| t != "null");
        if types.len() == 1 {
            let only = types.remove(0);
            property.insert("type".into(), only);
        }
    }
    if let Some(Value::Array(alternatives)) = property.get("oneOf").cloned() {
        let rest: Vec<Value> =
            alternatives.into_iter().filter(|a| a.get("type") != Some(&json!("null"))).collect();
        if let [only] = rest.as_slice() {
            property.remove("oneOf");
            if let Value::Object(only) = only {
                for (k, v) in only {
                    property.entry(k.clone()).or_insert_with(|| v.clone());
                }
            }
        }
    }
}

/// Adds the keys of `extra` (an `anyOf` or `enum` replaces the property's type and `$ref`; a
/// nullable property keeps `null` as an alternative).
fn merge(property: &mut Map<String, Value>, extra: Value) {
    let Value::Object(extra) = extra else { return };
    let replaces = extra.contains_key("anyOf") || extra.contains_key("enum");
    if replaces {
        let nullable =
            property.get("type").is_some_and(|t| t.as_array().is_some_and(|a| a.contains(&json!("null"))))
                || property.get("oneOf").is_some();
        property.remove("$ref");
        property.remove("oneOf");
        property.remove("format");
        property.remove("type");
        if nullable && let Some(Value::Array(any)) = extra.get("anyOf") {
            let mut any = any.clone();
            any.push(json!({"type": "null"}));
            property.insert("anyOf".into(), Value::Array(any));
            return;
        }
    }
    property.extend(extra);
}

/// OpenAPI links from each create to the get, update and delete of what it created (the
/// `id` of the body, and its `version` as `If-Match`), for clients and stateful testing.
fn add_links(doc: &mut Value) {
    for (collection, resource) in
        [("organizations", "organizations"), ("projects", "projects"), ("tasks", "tasks")]
    {
        let versioned = resource != "organizations";
        let mut links = Map::new();
        for (name, op) in [
            ("get", "get_one"),
            ("update", "update"),
            ("update_patch", "update_patch"),
            ("delete", "delete_one"),
        ] {
            let mut parameters = json!({"path.id": "$response.body#/id"});
            if versioned && op != "get_one" {
                parameters["header.If-Match"] = json!("$response.header.ETag");
            }
            links.insert(
                name.to_owned(),
                json!({"operationId": format!("{resource}_{op}"), "parameters": parameters,
                    "description": format!("The created resource, by its id")}),
            );
        }
        let pointer = format!("/paths/~1api~1v1~1{collection}/post/responses/201");
        if let Some(Value::Object(created)) = doc.pointer_mut(&pointer) {
            created.insert("links".into(), Value::Object(links));
        }
    }
}
