//! The OpenAPI document states what the server enforces: for each rule, values on both sides of
//! it are checked against the document's own schema (pattern, lengths, nullability) and sent to
//! the running services, and both must give the same verdict (schema-valid → not 422;
//! schema-invalid → 422).

#![allow(clippy::unwrap_used)]

use operant_testkit::TestApp;
use operant_testkit::rest::expect_json;
use regex::Regex;
use reqwest::Method;
use serde_json::{Value, json};

fn doc() -> Value {
    serde_json::to_value(operant_gateway::routes::api().1).unwrap()
}

fn property<'a>(doc: &'a Value, schema: &str, field: &str) -> &'a Value {
    let p = &doc["components"]["schemas"][schema]["properties"][field];
    assert!(p.is_object(), "{schema}.{field} missing");
    p
}

fn parameter<'a>(doc: &'a Value, path: &str, method: &str, name: &str) -> &'a Value {
    doc["paths"][path][method]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == name)
        .map(|p| &p["schema"])
        .unwrap_or_else(|| panic!("{method} {path}: no parameter {name}"))
}

/// Whether `value` satisfies the string schema `s` (type, pattern, lengths in characters).
fn valid(s: &Value, value: &Value) -> bool {
    let types: Vec<&str> = match &s["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => vec!["string"],
    };
    let Some(text) = value.as_str() else { return value.is_null() && types.contains(&"null") };
    if !types.contains(&"string") {
        return false;
    }
    let chars = text.chars().count() as u64;
    s["minLength"].as_u64().is_none_or(|min| chars >= min)
        && s["maxLength"].as_u64().is_none_or(|max| chars <= max)
        && s["pattern"].as_str().is_none_or(|p| Regex::new(p).unwrap().is_match(text))
}

/// Sends `body` and asserts that the server's verdict (422 or not) is the schema's.
async fn agree(rb: reqwest::RequestBuilder, schema: &Value, what: &str, value: &Value) {
    let r = rb.send().await.unwrap();
    let status = r.status().as_u16();
    let text = r.text().await.unwrap_or_default();
    let schema_ok = valid(schema, value);
    assert_eq!(
        status != 422,
        schema_ok,
        "{what} = {value}: schema says valid={schema_ok}, server {status} {text}"
    );
}

#[test]
fn the_document_states_the_rules() {
    let doc = doc();
    assert_eq!(property(&doc, "CreateOrganizationBody", "slug")["pattern"], "^[a-z0-9]+(-[a-z0-9]+)*$");
    assert!(property(&doc, "RegisterBody", "email")["pattern"].as_str().unwrap().contains('@'));
    let links = &doc["paths"]["/api/v1/tasks"]["post"]["responses"]["201"]["links"];
    assert_eq!(links["update"]["operationId"], "tasks_update", "{links}");
    assert_eq!(links["update"]["parameters"]["path.id"], "$response.body#/id");
    assert_eq!(property(&doc, "RegisterBody", "password")["minLength"], 8);
    // null only where it is accepted (and means "none" or "clear").
    assert_eq!(property(&doc, "UpdateProjectBody", "name")["type"], "string");
    assert_eq!(property(&doc, "UpdateProjectBody", "description")["type"], json!(["string", "null"]));
    assert_eq!(property(&doc, "UpdateMeBody", "full_name")["type"], "string");
    assert_eq!(property(&doc, "UpdateTaskBody", "status")["$ref"], "#/components/schemas/TaskStatus");
    assert_eq!(property(&doc, "CreateInvitationBody", "role")["enum"], json!(["ADMIN", "MEMBER"]));
    let if_match = parameter(&doc, "/api/v1/tasks/{id}", "put", "If-Match");
    assert_eq!(if_match["type"], "string");
    assert!(if_match["pattern"].is_string());
    let org = parameter(&doc, "/api/v1/tasks", "get", "X-Organization-Id");
    assert_eq!(org["format"], "uuid");
    let limit = parameter(&doc, "/api/v1/tasks", "get", "limit");
    assert_eq!((limit["minimum"].as_i64(), limit["maximum"].as_i64()), (Some(1), Some(100)));
    assert_eq!(parameter(&doc, "/api/v1/projects", "get", "created_by")["format"], "uuid");
    let order = parameter(&doc, "/api/v1/organizations", "get", "order_by");
    for (value, ok) in [("", true), ("name", true), ("-slug", true), ("+created_at", true), ("colour", false)]
    {
        assert_eq!(valid(order, &json!(value)), ok, "order_by={value}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_and_the_document_agree_on_each_boundary() {
    let doc = doc();
    let app = TestApp::spawn().await;
    let api = app.api();
    let owner = api.user("contract").await;
    let org = api.create_org(&owner, &format!("contract-{}", &owner.id[..8])).await;
    let project = api.create_project(&owner, &org, "contract").await;

    // Organization slugs and names.
    let slug = property(&doc, "CreateOrganizationBody", "slug");
    let name = property(&doc, "CreateOrganizationBody", "name");
    let short = &owner.id[..8];
    let slugs = [
        format!("s{short}"),
        format!("a-1-{short}"),
        "a".into(),
        "-ab".into(),
        "ab-".into(),
        "a--b".into(),
        "AB".into(),
        "a_b".into(),
        String::new(),
    ];
    for value in slugs {
        let body = json!({"name": "Acme", "slug": value});
        let rb = api.authed(Method::POST, "/api/v1/organizations", &owner.access).json(&body);
        agree(rb, slug, "slug", &json!(value)).await;
    }
    for (i, value) in ["x", " x ", "Acme\u{e9}", "", "   ", "a\u{7}b", "\u{a0}"].into_iter().enumerate() {
        let body = json!({"name": value, "slug": format!("n{i}-{}", &owner.id[..8])});
        let rb = api.authed(Method::POST, "/api/v1/organizations", &owner.access).json(&body);
        agree(rb, name, "organization name", &json!(value)).await;
    }
    // Project names (control characters other than NUL are allowed there) and null.
    let pname = property(&doc, "UpdateProjectBody", "name");
    for value in [json!("p"), json!("a\u{7}b"), json!(""), json!(" \t "), json!("a\u{0}b"), Value::Null] {
        let rb = api
            .in_org(Method::PATCH, &format!("/api/v1/projects/{project}"), &owner.access, &org)
            .json(&json!({"name": value}));
        agree(rb, pname, "project name", &value).await;
    }
    // Emails on login: a valid one that is unknown is 401, an invalid one 422.
    let email = property(&doc, "LoginBody", "email");
    for value in ["nobody@example.com", "", "ann", "a@b", "a b@x.io", "ann@x..io"] {
        let rb = api
            .req(Method::POST, "/api/v1/auth/login")
            .json(&json!({"email": value, "password": "whatever1"}));
        agree(rb, email, "email", &json!(value)).await;
    }
    // Display name: null is refused on PATCH, blank means none.
    let full_name = property(&doc, "UpdateMeBody", "full_name");
    for value in [json!("Ann"), json!("  "), Value::Null, json!("a\u{1b}b")] {
        let rb =
            api.authed(Method::PATCH, "/api/v1/users/me", &owner.access).json(&json!({"full_name": value}));
        agree(rb, full_name, "full_name", &value).await;
    }
    // If-Match.
    let if_match = parameter(&doc, "/api/v1/projects/{id}", "patch", "If-Match");
    for value in ["*", "\"999\"", "W/\"999\"", "999", ".", "cT", "\"3", "-1", "W/"] {
        let rb = api
            .in_org(Method::PATCH, &format!("/api/v1/projects/{project}"), &owner.access, &org)
            .header("if-match", value)
            .json(&json!({"description": "d"}));
        agree(rb, if_match, "If-Match", &json!(value)).await;
    }
    // Empty uuid filters are refused, like any other non-UUID.
    for path in ["/api/v1/tasks?project_id=", "/api/v1/projects?created_by=", "/api/v1/tasks?assignee_id="] {
        let r = api.in_org(Method::GET, path, &owner.access, &org).send().await.unwrap();
        expect_json(r, 422).await;
    }
    let r = api
        .in_org(Method::GET, "/api/v1/tasks?assignee_id=me&project_id=", &owner.access, &org)
        .send()
        .await
        .unwrap();
    expect_json(r, 422).await;
    let r =
        api.in_org(Method::GET, "/api/v1/tasks?assignee_id=ME", &owner.access, &org).send().await.unwrap();
    expect_json(r, 200).await;
    // A `null` body on refresh is no body: the refresh token from `Authorization` is used.
    let r = api
        .req(Method::POST, "/api/v1/auth/refresh")
        .bearer_auth(&owner.refresh)
        .header("content-type", "application/json")
        .body("null")
        .send()
        .await
        .unwrap();
    expect_json(r, 200).await;
}

/// Sends a request whose verdict under a header or parameter rule that the server enforces
/// with 400 `code` (not 422): schema-valid → a success, schema-invalid → 400 `code`.
async fn agree_400(rb: reqwest::RequestBuilder, schema: &Value, what: &str, value: &str, code: &str) {
    let r = rb.send().await.unwrap();
    let status = r.status().as_u16();
    let body: Value = r.json().await.unwrap_or(Value::Null);
    let schema_ok = valid(schema, &json!(value));
    let shown: String = value.chars().take(40).collect();
    if schema_ok {
        assert!(
            (200..300).contains(&status),
            "{what} = {shown:?} ({} chars): schema-valid, server {status} {body}",
            value.len()
        );
    } else {
        assert_eq!(
            (status, body["error_code"].as_str()),
            (400, Some(code)),
            "{what} = {shown:?} ({} chars): schema-invalid, server {body}",
            value.len()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idempotency_keys_page_tokens_and_passwords_follow_the_document() {
    let doc = doc();
    let app = TestApp::spawn().await;
    let api = app.api();
    let owner = api.user("contract-keys").await;
    let org = api.create_org(&owner, &format!("keys-{}", &owner.id[..8])).await;
    let project = api.create_project(&owner, &org, "keys").await;

    // Idempotency-Key: 1 to 255 visible ASCII characters, or 400 INVALID_IDEMPOTENCY_KEY.
    let key = parameter(&doc, "/api/v1/tasks", "post", "Idempotency-Key");
    let (max, pattern) = (key["maxLength"].as_u64().unwrap() as usize, key["pattern"].as_str().unwrap());
    assert_eq!((key["minLength"].as_u64(), max, pattern), (Some(1), 255, "^[!-~]+$"));
    let keys = [
        format!("k-{}", &owner.id[..8]),
        format!("{}!~\"{{}}", &owner.id[..8]),
        format!("{}{}", &owner.id[..8], "~".repeat(max - 8)),
        format!("{}{}", &owner.id[..8], "x".repeat(max - 7)),
        "a b".into(),
        "tab\tin".into(),
        "caf\u{e9}".into(),
        String::new(),
    ];
    for (i, value) in keys.iter().enumerate() {
        let header = reqwest::header::HeaderValue::from_bytes(value.as_bytes()).unwrap();
        let rb = api
            .in_org(Method::POST, "/api/v1/tasks", &owner.access, &org)
            .header("idempotency-key", header)
            .json(&json!({"project_id": project, "title": format!("keyed {i}")}));
        agree_400(rb, key, "Idempotency-Key", value, "INVALID_IDEMPOTENCY_KEY").await;
    }

    // page_token: empty, or a next_page_token (unpadded URL-safe base64, at most 2,048
    // characters); otherwise 400 INVALID_PAGE_TOKEN, before and without any trimming.
    let token = parameter(&doc, "/api/v1/tasks", "get", "page_token");
    assert_eq!(
        (token["maxLength"].as_u64(), token["pattern"].as_str()),
        (Some(2048), Some("^[A-Za-z0-9_-]*$"))
    );
    let first = api.in_org(Method::GET, "/api/v1/tasks?limit=1", &owner.access, &org).send().await.unwrap();
    let first = expect_json(first, 200).await;
    let issued = first["next_page_token"].as_str().expect("more than one task: a next page").to_owned();
    let tokens = [
        issued.clone(),
        String::new(),
        format!(" {issued}"),
        format!("{issued} "),
        format!("{issued}="),
        format!("{issued}+/"),
        "a b".into(),
        "x".repeat(2049),
    ];
    for value in &tokens {
        let query: String = form_urlencoded::Serializer::new(String::new())
            .append_pair("limit", "1")
            .append_pair("page_token", value)
            .finish();
        let rb = api.in_org(Method::GET, &format!("/api/v1/tasks?{query}"), &owner.access, &org);
        agree_400(rb, token, "page_token", value, "INVALID_PAGE_TOKEN").await;
    }
    // Of the right shape but never issued (or issued for other filters): the same 400, from
    // the service, never a 422 or a 500.
    for path in [
        "/api/v1/tasks?page_token=AAAA".to_owned(),
        format!("/api/v1/tasks?page_token={}", "A".repeat(2048)),
        format!("/api/v1/tasks?page_token={issued}&status=DONE"),
    ] {
        let r = api.in_org(Method::GET, &path, &owner.access, &org).send().await.unwrap();
        let body = expect_json(r, 400).await;
        assert_eq!(body["error_code"], "INVALID_PAGE_TOKEN", "{path}: {body}");
    }

    // Two rules JSON Schema cannot state (the operations' descriptions do; .ci/clients.d/hooks.py
    // keeps Schemathesis' generated data within them): body and query naming two projects,
    // and an API key created already expired.
    let other = api.create_project(&owner, &org, "other").await;
    let r = api
        .in_org(Method::POST, &format!("/api/v1/tasks?project_id={other}"), &owner.access, &org)
        .json(&json!({"project_id": project, "title": "where?"}))
        .send()
        .await
        .unwrap();
    let body = expect_json(r, 422).await;
    assert!(body["detail"].as_str().unwrap().contains("project_id"), "{body}");
    let r = api
        .in_org(Method::POST, &format!("/api/v1/tasks?project_id={project}"), &owner.access, &org)
        .json(&json!({"project_id": project, "title": "here"}))
        .send()
        .await
        .unwrap();
    expect_json(r, 201).await;
    let description =
        property(&doc, "CreateApiKeyBody", "expires_at")["description"].as_str().unwrap_or_default();
    assert!(description.contains("in the future"), "{description}");
    for (at, status) in [("2001-01-01T00:00:00Z", 422), ("2999-01-01T00:00:00Z", 201)] {
        let r = api
            .authed(Method::POST, &format!("/api/v1/organizations/{org}/api-keys"), &owner.access)
            .json(&json!({"name": "expiring", "role": "MEMBER", "expires_at": at}))
            .send()
            .await
            .unwrap();
        let body = expect_json(r, status).await;
        assert!(status == 201 || body["detail"].as_str().unwrap().contains("expires_at"), "{body}");
    }

    // Passwords: 8 to 72 characters, whatever their UTF-8 size, and never truncated.
    let password = property(&doc, "RegisterBody", "password");
    let stamp = &owner.id[..8];
    let cases = [
        ("x".repeat(72), true),
        ("x".repeat(73), false),
        ("\u{20ac}".repeat(72), true), // 216 bytes
        ("\u{20ac}".repeat(73), false),
        ("\u{1f600}".repeat(30), true), // 120 bytes, four-byte characters
        ("\u{20ac}".repeat(7), false),
    ];
    for (i, (value, ok)) in cases.iter().enumerate() {
        assert_eq!(valid(password, &json!(value)), *ok, "the document's verdict on {value:?}");
        let email = format!("pw{i}-{stamp}@example.com");
        let rb =
            api.req(Method::POST, "/api/v1/auth/register").json(&json!({"email": email, "password": value}));
        agree(rb, password, "password", &json!(value)).await;
        if !ok {
            continue;
        }
        let login = |p: String| {
            api.req(Method::POST, "/api/v1/auth/login").json(&json!({"email": email, "password": p})).send()
        };
        expect_json(login(value.clone()).await.unwrap(), 200).await;
        // Its first 72 bytes (or one character fewer) are not the password.
        let mut prefix = value.clone();
        while prefix.len() > 72 {
            prefix.pop();
        }
        if prefix == *value {
            prefix.pop();
        }
        let r = login(prefix).await.unwrap();
        assert_eq!(r.status().as_u16(), 401, "a prefix of the password must not log in");
    }
}
