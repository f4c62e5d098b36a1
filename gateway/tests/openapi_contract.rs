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
