//! A corpus of bad input on every route of the gateway's OpenAPI document.
//!
//! The test reads `/openapi.json` from the running gateway and, for every operation, substitutes
//! real ids (an organization, project, task, session and member of its own user) and sends:
//! - **headers**: no token, garbage, empty, `Basic`, an 8 KB `Authorization`, non-ASCII bytes,
//!   forged JWTs (`alg: none`, `alg` swapped to HS256, payload swapped under a real signature),
//!   a refresh token used as an access token; on tenant routes a missing, malformed, non-ASCII,
//!   RTL-marked, emoji, 8 KB and unknown `X-Organization-Id`;
//! - **parameters**: every path id and every query parameter replaced by values of the wrong
//!   kind (not a UUID, NUL, emoji, RTL mark, invalid UTF-8, 1e309, 2^64, 10 KB);
//! - **bodies** (valid token and organization): malformed and truncated JSON, a non-object, a
//!   wrong content type, a body just over the size limit, and for every field: each wrong JSON
//!   type, `null` (unless `null` is documented to mean something), a 600 000-character and a
//!   1 MB string, 1e309 and 2^64, a lone surrogate escape, a NUL, an RTL mark and a 4-byte emoji
//!   (where the field has a format), and the field repeated (duplicate key).
//!
//! Every answer must be a 4xx that the operation documents, in the standard error body
//! `{"detail", "error_code", "status_code"}` with `status_code` equal to the HTTP status; and no
//! row of any table may change (row counts and a digest of every row, before and after).
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use operant_testkit::TestApp;
use operant_testkit::{PASSWORD, User};
use reqwest::Method;
use reqwest::header::{HeaderName, HeaderValue};
use serde_json::{Value, json};

/// Fields whose `null` is documented to mean something (left out, or cleared): not sent as null.
const NULL_MEANS_SOMETHING: &[(&str, &str)] = &[
    ("RegisterBody", "full_name"),
    ("UpdateMeBody", "full_name"),
    ("RefreshTokenBody", "refresh_token"),
    ("CreateProjectBody", "description"),
    ("UpdateProjectBody", "description"),
    ("CreateTaskBody", "description"),
    ("CreateTaskBody", "assignee_id"),
    ("CreateTaskBody", "due_date"),
    ("CreateTaskBody", "priority"),
    ("CreateTaskBody", "status"),
    ("UpdateTaskBody", "description"),
    ("UpdateTaskBody", "assignee_id"),
    ("UpdateTaskBody", "due_date"),
];

/// Free-text fields, where an RTL mark or an emoji is legitimate input (so not sent).
const FREE_TEXT: &[&str] =
    &["name", "title", "description", "full_name", "password", "current_password", "new_password"];

struct Ids {
    org: String,
    project: String,
    task: String,
    session: String,
    member: User,
    /// A pending invitation of an outsider.
    invitation: String,
    /// A webhook endpoint of the organization.
    webhook: String,
}

struct Op {
    method: Method,
    template: String,
    secured: bool,
    tenant_header: bool,
    path_params: Vec<String>,
    /// (name, kind) of the query parameters.
    query: Vec<(String, &'static str)>,
    /// Name of the request body schema.
    body_schema: Option<String>,
    documented: BTreeSet<u16>,
}

#[derive(Clone)]
struct Probe {
    label: String,
    path: String,
    auth: Auth,
    org: OrgHeader,
    body: Option<(Option<&'static str>, Vec<u8>)>,
}

#[derive(Clone)]
enum Auth {
    None,
    Valid,
    Raw(Vec<u8>),
}

#[derive(Clone)]
enum OrgHeader {
    None,
    Valid,
    Raw(Vec<u8>),
}

fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(r) => &doc["components"]["schemas"][r.trim_start_matches("#/components/schemas/")],
        None => schema,
    }
}

fn operations(doc: &Value) -> Vec<Op> {
    let mut ops = Vec::new();
    for (template, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let method = match method.as_str() {
                "get" => Method::GET,
                "post" => Method::POST,
                "put" => Method::PUT,
                "patch" => Method::PATCH,
                "delete" => Method::DELETE,
                _ => continue,
            };
            let params = op["parameters"].as_array().cloned().unwrap_or_default();
            let by = |place: &str| -> Vec<&Value> { params.iter().filter(|p| p["in"] == place).collect() };
            let query = by("query")
                .into_iter()
                .map(|p| {
                    let name = p["name"].as_str().unwrap().to_owned();
                    let schema = resolve(doc, &p["schema"]);
                    let kind = match (name.as_str(), schema["type"].as_str(), schema["format"].as_str()) {
                        ("q", _, _) => "text",
                        // Empty is the first page; anything else must be a token of this list.
                        ("page_token", _, _) => "token",
                        ("order_by", _, _) => "enum",
                        ("due_before" | "due_after", _, _) => "date",
                        (_, Some("integer"), _) => "int",
                        (_, Some("array"), _) => "enum",
                        _ => "uuid",
                    };
                    (name, kind)
                })
                .collect();
            let body_schema =
                op["requestBody"]["content"]["application/json"]["schema"].as_object().map(|s| {
                    let schema = Value::Object(s.clone());
                    let r = schema["$ref"].as_str().map(str::to_owned).or_else(|| {
                        schema["oneOf"]
                            .as_array()
                            .and_then(|alts| alts.iter().find_map(|a| a["$ref"].as_str().map(str::to_owned)))
                    });
                    r.unwrap().trim_start_matches("#/components/schemas/").to_owned()
                });
            ops.push(Op {
                method,
                template: template.clone(),
                secured: op["security"]
                    .as_array()
                    .is_some_and(|s| s.iter().any(|r| r.get("bearer").is_some())),
                tenant_header: by("header").iter().any(|p| p["name"] == "X-Organization-Id"),
                path_params: by("path").iter().map(|p| p["name"].as_str().unwrap().to_owned()).collect(),
                query,
                body_schema,
                documented: op["responses"]
                    .as_object()
                    .unwrap()
                    .keys()
                    .filter_map(|k| k.parse().ok())
                    .collect(),
            });
        }
    }
    ops
}

/// A valid body for each operation that takes one: each probe changes one thing in it.
fn baseline(op: &Op, user: &User, ids: &Ids) -> Value {
    let fresh = uuid::Uuid::new_v4().simple().to_string();
    match (op.method.as_str(), op.template.as_str()) {
        ("POST", "/api/v1/auth/register") => {
            json!({"email": format!("fresh-{fresh}@example.com"), "password": PASSWORD, "full_name": "Fresh"})
        }
        ("POST", "/api/v1/auth/login") => json!({"email": user.email, "password": PASSWORD}),
        ("POST", "/api/v1/auth/refresh" | "/api/v1/auth/logout") => json!({"refresh_token": user.refresh}),
        ("POST", "/api/v1/auth/password-reset/request") => {
            json!({"email": format!("nobody-{fresh}@example.com")})
        }
        ("POST", "/api/v1/auth/password-reset/confirm") => {
            json!({"token": format!("reset-{fresh}"), "new_password": "another password 1"})
        }
        ("POST", "/api/v1/auth/verify-email/confirm") => json!({"token": format!("verify-{fresh}")}),
        ("PUT" | "PATCH", "/api/v1/users/me") => json!({"full_name": "Renamed Person"}),
        ("POST", "/api/v1/users/me/password") => {
            json!({"current_password": PASSWORD, "new_password": "another password 1"})
        }
        ("POST", "/api/v1/organizations") => {
            json!({"name": "Second", "slug": format!("second-{}", &fresh[..8])})
        }
        ("PUT" | "PATCH", "/api/v1/organizations/{id}") => {
            json!({"name": "Renamed", "slug": format!("renamed-{}", &fresh[..8])})
        }
        ("POST", "/api/v1/organizations/{id}/members" | "/api/v1/organizations/{id}/invitations") => {
            json!({"email": format!("invitee-{fresh}@example.com"), "role": "MEMBER"})
        }
        ("POST", "/api/v1/invitations/accept") => json!({"token": format!("invite-{fresh}")}),
        ("PATCH", "/api/v1/organizations/{id}/members/{user_id}") => json!({"role": "ADMIN"}),
        ("POST", "/api/v1/organizations/{id}/api-keys") => {
            json!({"name": "Corpus key", "role": "MEMBER", "expires_at": "2031-01-01T00:00:00Z"})
        }
        ("POST", "/api/v1/organizations/{id}/transfer-ownership") => json!({"user_id": ids.member.id}),
        ("PUT", "/api/v1/organizations/{id}/subscription") => json!({"plan": "PRO"}),
        ("POST", "/api/v1/organizations/{id}/webhooks") => json!({
            "url": "https://hooks.example.com/corpus", "event_types": ["project.deleted"], "description": "more"
        }),
        ("PATCH", "/api/v1/organizations/{id}/webhooks/{webhook_id}") => json!({
            "url": "https://hooks.example.com/renamed", "event_types": ["task.deleted"], "enabled": false,
            "description": "changed"
        }),
        ("POST", "/api/v1/projects") => json!({"name": "Another", "description": "more"}),
        ("PUT" | "PATCH", "/api/v1/projects/{id}") => json!({"name": "Renamed", "description": "changed"}),
        ("POST", "/api/v1/tasks") => json!({
            "project_id": ids.project, "title": "Another", "description": "more", "status": "IN_PROGRESS",
            "priority": "HIGH", "assignee_id": user.id, "due_date": "2030-01-01"
        }),
        ("PUT" | "PATCH", "/api/v1/tasks/{id}") => json!({
            "title": "Renamed", "description": "changed", "status": "DONE", "priority": "LOW",
            "assignee_id": ids.member.id, "due_date": "2031-02-03T04:05:06Z"
        }),
        (m, p) => panic!("{m} {p} takes a body but the corpus has no valid baseline for it: add one"),
    }
}

fn path_of(op: &Op, ids: &Ids, replace: Option<(&str, &str)>) -> String {
    let mut path = op.template.clone();
    for name in &op.path_params {
        let value = match replace {
            Some((n, v)) if n == name => v.to_owned(),
            _ => match (name.as_str(), op.template.as_str()) {
                ("user_id", _) => ids.member.id.clone(),
                ("invitation_id", _) => ids.invitation.clone(),
                ("webhook_id", _) => ids.webhook.clone(),
                (_, t) if t.starts_with("/api/v1/invitations/") => ids.invitation.clone(),
                (_, t) if t.starts_with("/api/v1/organizations/") => ids.org.clone(),
                (_, t) if t.starts_with("/api/v1/projects/") => ids.project.clone(),
                (_, t) if t.starts_with("/api/v1/tasks/") => ids.task.clone(),
                (_, t) if t.starts_with("/api/v1/auth/sessions/") => ids.session.clone(),
                (n, t) => panic!("no real id for {{{n}}} in {t}: add one"),
            },
        };
        path = path.replace(&format!("{{{name}}}"), &value);
    }
    path
}

fn forged_tokens(user: &User) -> Vec<(&'static str, Vec<u8>)> {
    let parts: Vec<&str> = user.access.split('.').collect();
    let mut payload: Value = serde_json::from_slice(&B64.decode(parts[1]).unwrap()).unwrap();
    let header_none = B64.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let header_hs = B64.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let real_payload = parts[1];
    payload["sub"] = json!(uuid::Uuid::new_v4().to_string());
    let other_payload = B64.encode(serde_json::to_vec(&payload).unwrap());
    let bearer = |t: String| format!("Bearer {t}").into_bytes();
    vec![
        ("garbage token", bearer("garbage".into())),
        ("empty bearer", b"Bearer ".to_vec()),
        ("basic auth", b"Basic dXNlcjpwYXNzd29yZA==".to_vec()),
        ("three empty segments", bearer("..".into())),
        ("alg none", bearer(format!("{header_none}.{real_payload}."))),
        ("alg swapped to HS256", bearer(format!("{header_hs}.{real_payload}.{}", parts[2]))),
        (
            "payload swapped under a real signature",
            bearer(format!("{}.{other_payload}.{}", parts[0], parts[2])),
        ),
        ("8 KB authorization", bearer("A".repeat(8 * 1024))),
        ("non-ASCII authorization", "Bearer é€".as_bytes().to_vec()),
        ("refresh token as access token", bearer(user.refresh.clone())),
    ]
}

fn bad_org_headers() -> Vec<(&'static str, OrgHeader)> {
    vec![
        ("no X-Organization-Id", OrgHeader::None),
        ("X-Organization-Id not a UUID", OrgHeader::Raw(b"acme".to_vec())),
        ("X-Organization-Id non-ASCII", OrgHeader::Raw("é-org".as_bytes().to_vec())),
        (
            "X-Organization-Id with RTL mark",
            OrgHeader::Raw(format!("\u{202e}{}", uuid::Uuid::nil()).into_bytes()),
        ),
        ("X-Organization-Id emoji", OrgHeader::Raw("😀".as_bytes().to_vec())),
        ("X-Organization-Id 8 KB", OrgHeader::Raw("7".repeat(8 * 1024).into_bytes())),
        ("X-Organization-Id of nobody", OrgHeader::Raw(uuid::Uuid::new_v4().to_string().into_bytes())),
    ]
}

/// Already percent-encoded bad values for a path segment.
const BAD_PATH: &[&str] = &[
    "not-a-uuid",
    "00000000-0000-0000-0000-00000000000g",
    "%00",
    "%F0%9F%98%80",
    "%E2%80%AE00000000-0000-0000-0000-000000000000",
    "%ED%A0%80",
    "%FF%FE",
    "1e309",
    "18446744073709551616",
];

fn bad_query_values(kind: &str) -> Vec<String> {
    let mut v: Vec<String> = match kind {
        "int" => ["abc", "1e309", "18446744073709551616", "-1", "1.5", "0x10"].map(String::from).to_vec(),
        "enum" => ["NOPE", "%F0%9F%98%80"].map(String::from).to_vec(),
        "date" => ["yesterday", "2026-13-45", "%F0%9F%98%80"].map(String::from).to_vec(),
        "uuid" | "token" => ["not-a-uuid", "%F0%9F%98%80", "%E2%80%AE1"].map(String::from).to_vec(),
        _ => vec![],
    };
    if matches!(kind, "int" | "date" | "uuid") {
        // Present but empty is not absent: an empty UUID, number or date is invalid too.
        v.push(String::new());
    }
    v.push("%00".into());
    v.push("a%00b".into());
    v.push("z".repeat(10 * 1024));
    v
}

/// A JSON text with the value of `field` replaced by the raw JSON text `raw`.
fn with_raw(base: &Value, field: &str, raw: &str) -> Vec<u8> {
    let mut obj = base.as_object().unwrap().clone();
    let marker = format!("@@{}@@", uuid::Uuid::new_v4().simple());
    obj.insert(field.to_owned(), Value::String(marker.clone()));
    serde_json::to_string(&Value::Object(obj)).unwrap().replace(&format!("\"{marker}\""), raw).into_bytes()
}

fn body_probes(
    op: &Op,
    doc: &Value,
    base: &Value,
    max_body: usize,
) -> Vec<(String, Option<&'static str>, Vec<u8>)> {
    let schema_name = op.body_schema.as_deref().unwrap();
    let schema = &doc["components"]["schemas"][schema_name];
    let fields: Vec<String> = schema["properties"].as_object().unwrap().keys().cloned().collect();
    for f in &fields {
        assert!(base.get(f).is_some(), "the baseline of {} {} lacks field {f}", op.method, op.template);
    }
    let json_text = serde_json::to_vec(base).unwrap();
    let half = json_text[..json_text.len() / 2].to_vec();
    // A body the document allows to be `null` (refresh, logout: no body) is not bad as `null`.
    let body_schema = &doc["paths"][&op.template][op.method.as_str().to_ascii_lowercase()]["requestBody"]["content"]
        ["application/json"]["schema"];
    let null_allowed = body_schema["oneOf"].as_array().is_some_and(|a| a.iter().any(|s| s["type"] == "null"));
    let mut out: Vec<(String, Option<&'static str>, Vec<u8>)> = vec![
        ("truncated JSON".into(), Some("application/json"), half),
        ("only an opening brace".into(), Some("application/json"), b"{".to_vec()),
        ("trailing comma".into(), Some("application/json"), b"{\"a\": 1,}".to_vec()),
        ("single quotes".into(), Some("application/json"), b"{'a': 1}".to_vec()),
        ("unquoted keys".into(), Some("application/json"), b"{a: 1}".to_vec()),
        ("two objects".into(), Some("application/json"), [json_text.clone(), json_text.clone()].concat()),
        ("garbage after JSON".into(), Some("application/json"), [json_text.clone(), b" x".to_vec()].concat()),
        (
            "BOM before JSON".into(),
            Some("application/json"),
            [b"\xef\xbb\xbf".to_vec(), json_text.clone()].concat(),
        ),
        ("invalid UTF-8".into(), Some("application/json"), b"{\"a\": \"\xff\xfe\"}".to_vec()),
        ("binary garbage".into(), Some("application/json"), vec![0, 159, 146, 150, 255, 0, 1]),
        ("NUL outside strings".into(), Some("application/json"), b"{\0}".to_vec()),
        ("JSON array".into(), Some("application/json"), b"[]".to_vec()),
        ("JSON string".into(), Some("application/json"), b"\"x\"".to_vec()),
        ("JSON number".into(), Some("application/json"), b"1".to_vec()),
        ("JSON true".into(), Some("application/json"), b"true".to_vec()),
        ("JSON null".into(), Some("application/json"), b"null".to_vec()),
        ("text/plain".into(), Some("text/plain"), json_text.clone()),
        ("form content type".into(), Some("application/x-www-form-urlencoded"), json_text.clone()),
        ("multipart content type".into(), Some("multipart/form-data; boundary=x"), json_text.clone()),
        ("no content type".into(), None, json_text.clone()),
        ("application/jsonx".into(), Some("application/jsonx"), json_text.clone()),
        ("body just over the limit".into(), Some("application/json"), {
            let mut b = with_raw(base, "padding", &format!("\"{}\"", "p".repeat(max_body)));
            b.truncate(max_body + 1);
            b
        }),
    ];
    let all_null = fields.iter().all(|f| NULL_MEANS_SOMETHING.contains(&(schema_name, f.as_str())));
    if !all_null {
        let nulls: serde_json::Map<String, Value> = fields.iter().map(|f| (f.clone(), Value::Null)).collect();
        out.push(("every field null".into(), Some("application/json"), serde_json::to_vec(&nulls).unwrap()));
    }
    for f in &fields {
        let prop = resolve(doc, &schema["properties"][f]);
        let formatted = !FREE_TEXT.contains(&f.as_str())
            || prop["format"].is_string()
            || prop["enum"].is_array()
            || prop["oneOf"].is_array();
        let mut raws: Vec<(String, String)> = vec![
            ("a number".into(), "12345".into()),
            ("a boolean".into(), "false".into()),
            ("an array".into(), "[\"x\"]".into()),
            ("an object".into(), "{\"k\": \"v\"}".into()),
            ("600 000 characters".into(), format!("\"{}\"", "x".repeat(600_000))),
            ("1 MB".into(), format!("\"{}\"", "x".repeat(1024 * 1024))),
            ("1e309".into(), "1e309".into()),
            ("2^64".into(), "18446744073709551616".into()),
            ("a lone surrogate".into(), "\"\\ud800\"".into()),
            ("a NUL".into(), "\"a\\u0000b\"".into()),
        ];
        // A boolean field's wrong types are the others.
        if prop["type"] == "boolean" || prop["type"].as_array().is_some_and(|t| t.contains(&json!("boolean")))
        {
            raws.retain(|(what, _)| what != "a boolean");
        }
        if !NULL_MEANS_SOMETHING.contains(&(schema_name, f.as_str())) {
            raws.push(("null".into(), "null".into()));
        }
        if formatted {
            raws.push(("an RTL mark".into(), "\"\\u202e1\"".into()));
            raws.push(("a 4-byte emoji".into(), "\"😀\"".into()));
        }
        for (what, raw) in raws {
            out.push((format!("{f} = {what}"), Some("application/json"), with_raw(base, f, &raw)));
        }
        // Duplicate key: the field once more, with the same valid value, before the others.
        let text = String::from_utf8(json_text.clone()).unwrap();
        let dup = format!("{{\"{f}\":{},{}", serde_json::to_string(&base[f]).unwrap(), &text[1..]);
        out.push((format!("{f} twice (duplicate key)"), Some("application/json"), dup.into_bytes()));
    }
    if null_allowed {
        out.retain(|(label, _, _)| label != "JSON null");
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_bad_input_corpus_on_every_route() {
    let app = TestApp::spawn().await;
    let base = app.gateway_url();
    let api = app.api();
    let http = api.http.clone();
    let user = api.user("corpus").await;
    let member = api.user("member").await;
    let outsider = api.user("outsider").await;
    let org = api.create_org(&user, "corpus").await;
    api.join(&org, &user, &member, "MEMBER").await;
    let (invitation, _) = api.invite(&org, &user, &outsider.email, "MEMBER").await;
    let invitation = invitation["id"].as_str().unwrap().to_owned();
    let project = api.create_project(&user, &org, "corpus").await;
    let body = json!({"project_id": project, "title": "corpus task"});
    let task = api.call(Method::POST, "/api/v1/tasks", &user, Some(&org), Some(body), 201).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let sessions = api.call(Method::GET, "/api/v1/auth/sessions", &user, None, None, 200).await;
    let session = sessions[0]["id"].as_str().unwrap().to_owned();
    // PRO, for a webhook endpoint (never delivered to: nothing it subscribes to happens).
    let pro = json!({"plan": "PRO"});
    api.call(Method::PUT, &format!("/api/v1/organizations/{org}/subscription"), &user, None, Some(pro), 200)
        .await;
    let hook = json!({"url": "https://hooks.example.com/corpus", "event_types": ["project.deleted"]});
    let created = api
        .call(Method::POST, &format!("/api/v1/organizations/{org}/webhooks"), &user, None, Some(hook), 201)
        .await;
    let webhook = created["id"].as_str().unwrap().to_owned();
    let ids = Ids { org: org.clone(), project, task, session, member, invitation, webhook };

    let doc: Value = http.get(format!("{base}/openapi.json")).send().await.unwrap().json().await.unwrap();
    let ops = operations(&doc);
    assert!(ops.len() >= 40, "only {} operations documented", ops.len());

    let db = operant_testkit::sql::connect(&app.database_url).await;
    // The invitation mail is marked sent just after its delivery: wait, so the snapshot holds.
    let sent = operant_testkit::eventually(std::time::Duration::from_secs(10), || async {
        let row = db
            .query_one("SELECT count(*) FROM tenancy_mail_outbox WHERE sent_at IS NULL", &[])
            .await
            .unwrap();
        row.get::<_, i64>(0) == 0
    })
    .await;
    assert!(sent, "the invitation mail was not marked sent");
    // The setup's events too are in the feed, not waiting in tenancy's and work's outboxes.
    app.events_relayed().await;
    let before = operant_testkit::sql::snapshot(&db).await;
    let mut before_rows = BTreeMap::new();
    for (table, count, _) in &before {
        if *count <= 20 {
            before_rows.insert(table.clone(), operant_testkit::sql::rows(&db, table).await);
        }
    }
    let started = Instant::now();
    let max_body = app.settings.max_body_bytes;

    let mut probes_sent = 0usize;
    let mut violations: Vec<String> = Vec::new();
    for op in &ops {
        if !op.secured && op.body_schema.is_none() && op.path_params.is_empty() && op.query.is_empty() {
            continue; // /health, /.well-known/jwks.json: no input to corrupt
        }
        let refresh_route = op.template == "/api/v1/auth/refresh" || op.template == "/api/v1/auth/logout";
        let valid_path = path_of(op, &ids, None);
        let base_body = op.body_schema.as_ref().map(|_| baseline(op, &user, &ids));
        let base_json =
            base_body.as_ref().map(|b| (Some("application/json"), serde_json::to_vec(b).unwrap()));
        // Refresh and logout take their token from the body first: header probes go without one.
        let header_body = if refresh_route { None } else { base_json.clone() };
        let valid_auth =
            if op.secured && op.template != "/api/v1/auth/refresh" { Auth::Valid } else { Auth::None };
        let valid_org = if op.tenant_header { OrgHeader::Valid } else { OrgHeader::None };
        let mut probes: Vec<Probe> = Vec::new();

        if op.secured {
            let mut tokens = forged_tokens(&user);
            if refresh_route {
                tokens.retain(|(label, _)| *label != "refresh token as access token");
            }
            let mut add = |label: String, auth: Auth| {
                probes.push(Probe {
                    label,
                    path: valid_path.clone(),
                    auth,
                    org: valid_org.clone(),
                    body: header_body.clone(),
                })
            };
            if op.template != "/api/v1/auth/logout" {
                add("no Authorization".into(), Auth::None);
            }
            for (label, raw) in tokens {
                add(label.into(), Auth::Raw(raw));
            }
        }
        if op.tenant_header {
            for (label, org_header) in bad_org_headers() {
                probes.push(Probe {
                    label: label.into(),
                    path: valid_path.clone(),
                    auth: Auth::Valid,
                    org: org_header,
                    body: header_body.clone(),
                });
            }
        }
        for name in &op.path_params {
            for bad in BAD_PATH.iter().map(|s| s.to_string()).chain(["9".repeat(10 * 1024)]) {
                probes.push(Probe {
                    label: format!("path {name} = {}", bad.chars().take(40).collect::<String>()),
                    path: path_of(op, &ids, Some((name, &bad))),
                    auth: valid_auth.clone(),
                    org: valid_org.clone(),
                    body: base_json.clone(),
                });
            }
        }
        for (name, kind) in &op.query {
            // POST /tasks: the project may come from the query; leave it out of the body then.
            let body = match (&base_body, name.as_str()) {
                (Some(b), "project_id") => {
                    let mut b = b.clone();
                    b.as_object_mut().unwrap().remove("project_id");
                    Some((Some("application/json"), serde_json::to_vec(&b).unwrap()))
                }
                _ => base_json.clone(),
            };
            for bad in bad_query_values(kind) {
                probes.push(Probe {
                    label: format!("query {name} = {}", bad.chars().take(40).collect::<String>()),
                    path: format!("{valid_path}?{name}={bad}"),
                    auth: valid_auth.clone(),
                    org: valid_org.clone(),
                    body: body.clone(),
                });
            }
        }
        if let Some(b) = &base_body {
            for (label, content_type, bytes) in body_probes(op, &doc, b, max_body) {
                probes.push(Probe {
                    label,
                    path: valid_path.clone(),
                    auth: valid_auth.clone(),
                    org: valid_org.clone(),
                    body: Some((content_type, bytes)),
                });
            }
        }

        for probe in probes {
            probes_sent += 1;
            let mut rb = http.request(op.method.clone(), format!("{base}{}", probe.path));
            match &probe.auth {
                Auth::None => {}
                Auth::Valid => rb = rb.bearer_auth(&user.access),
                Auth::Raw(raw) => {
                    rb = rb.header(reqwest::header::AUTHORIZATION, HeaderValue::from_bytes(raw).unwrap())
                }
            }
            let org_name = HeaderName::from_static("x-organization-id");
            match &probe.org {
                OrgHeader::None => {}
                OrgHeader::Valid => rb = rb.header(org_name, org.as_str()),
                OrgHeader::Raw(raw) => rb = rb.header(org_name, HeaderValue::from_bytes(raw).unwrap()),
            }
            if let Some((content_type, bytes)) = &probe.body {
                if let Some(ct) = content_type {
                    rb = rb.header(reqwest::header::CONTENT_TYPE, *ct);
                }
                rb = rb.body(bytes.clone());
            }
            let what = format!("{} {} [{}]", op.method, op.template, probe.label);
            let response = match rb.send().await {
                Ok(r) => r,
                Err(e) => {
                    violations.push(format!("{what}: no answer: {e}"));
                    continue;
                }
            };
            let status = response.status().as_u16();
            let text = response.text().await.unwrap_or_default();
            let short: String = text.chars().take(200).collect();
            let body: Option<Value> = serde_json::from_str(&text).ok();
            let standard = body.as_ref().is_some_and(|b| {
                b["detail"].is_string() && b["error_code"].is_string() && b["status_code"] == status
            });
            if !(400..500).contains(&status) {
                violations.push(format!("{what}: {status} (not a 4xx): {short}"));
            } else if !op.documented.contains(&status) {
                violations.push(format!("{what}: {status} is not documented for this operation: {short}"));
            } else if !standard {
                violations.push(format!("{what}: {status} without the standard error body: {short}"));
            }
        }
    }
    let took = started.elapsed();
    let after = operant_testkit::sql::snapshot(&db).await;
    // `login_attempts` is the login throttle: every failed login counts, whatever its input (a
    // well-formed but wrong password such as "a\u0000b" is a failed login), by design.
    let changed: Vec<String> = before
        .iter()
        .zip(&after)
        .filter(|(b, a)| b != a && b.0 != "login_attempts")
        .map(|(b, a)| {
            format!(
                "{}: {} rows -> {} rows{}",
                b.0,
                b.1,
                a.1,
                if b.1 == a.1 { " (rows changed)" } else { "" }
            )
        })
        .collect();
    println!(
        "{probes_sent} bad requests on {} operations in {took:?}; {} violations",
        ops.len(),
        violations.len()
    );
    for v in &violations {
        println!("  {v}");
    }
    for c in &changed {
        println!("  database changed: {c}");
    }
    for (b, _) in before.iter().zip(&after).filter(|(b, a)| b != a && b.1 <= 20 && a.1 <= 20) {
        println!("  {} before: {:?}", b.0, before_rows.get(&b.0));
        println!("  {} after:  {:?}", b.0, operant_testkit::sql::rows(&db, &b.0).await);
    }

    // Each probe changed one thing in a valid request: prove the baselines are valid, so the
    // rejections above are the corpus's doing (after the snapshot; the state may change now),
    // in a new session (a probe may have ended the old one). Logout would end the session the
    // others use; the confirmations and the invitation acceptance need mailed tokens. On PRO,
    // since the member and the pending invitation fill FREE's seats.
    let user = api.login(&user).await;
    let pro = Some(json!({"plan": "PRO"}));
    api.call(Method::PUT, &format!("/api/v1/organizations/{org}/subscription"), &user, None, pro, 200).await;
    let unprovable = [
        "/api/v1/auth/logout",
        "/api/v1/auth/password-reset/confirm",
        "/api/v1/auth/verify-email/confirm",
        "/api/v1/invitations/accept",
    ];
    let mut invalid_baselines = Vec::new();
    let mut ordered: Vec<&Op> = ops.iter().filter(|op| op.body_schema.is_some()).collect();
    // Transfer ownership and the password change last: the others need the owner and the password.
    ordered.sort_by_key(|op| {
        op.template.ends_with("/transfer-ownership") || op.template.ends_with("/me/password")
    });
    for op in ordered {
        if unprovable.contains(&op.template.as_str()) {
            continue;
        }
        let mut rb = http.request(op.method.clone(), format!("{base}{}", path_of(op, &ids, None)));
        if op.secured && op.template != "/api/v1/auth/refresh" {
            rb = rb.bearer_auth(&user.access);
        }
        if op.tenant_header {
            rb = rb.header("x-organization-id", org.as_str());
        }
        let r = rb.json(&baseline(op, &user, &ids)).send().await.unwrap();
        let status = r.status().as_u16();
        if !(200..300).contains(&status) {
            invalid_baselines.push(format!(
                "{} {}: {status} {}",
                op.method,
                op.template,
                r.text().await.unwrap_or_default()
            ));
        }
    }
    assert!(invalid_baselines.is_empty(), "baselines that are not valid requests: {invalid_baselines:#?}");
    assert_eq!(before.len(), after.len());
    assert!(
        violations.is_empty(),
        "{} answers were not documented 4xx error bodies (listed above)",
        violations.len()
    );
    assert!(changed.is_empty(), "the corpus changed the database: {changed:?}");
    app.shutdown().await;
}
