//! Authentication first, then membership, then validation, on every protected route of the
//! OpenAPI document: the same invalid request (malformed JSON body, path ids that are not UUIDs,
//! a bad `If-Match`, an invalid page and empty uuid filters) is 401 without credentials or with
//! a forged token, 403 `NOT_A_MEMBER` for an outsider on organization-scoped routes, and only a
//! caller who may use the route learns that the request is invalid.

#![allow(clippy::unwrap_used)]

use operant_testkit::TestApp;
use operant_testkit::rest::Api;
use reqwest::Method;
use serde_json::Value;

/// Every protected operation: (method, path template, scoped by `X-Organization-Id`).
fn protected_operations() -> Vec<(Method, String, bool)> {
    let doc = serde_json::to_value(operant_gateway::routes::api().1).unwrap();
    let mut ops = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let Some(security) = op["security"].as_array() else { continue };
            if security.is_empty() || security.iter().any(|s| s.as_object().is_some_and(|o| o.is_empty())) {
                continue;
            }
            let tenant =
                op["parameters"].as_array().into_iter().flatten().any(|p| p["name"] == "X-Organization-Id");
            ops.push((Method::from_bytes(method.to_uppercase().as_bytes()).unwrap(), path.clone(), tenant));
        }
    }
    ops
}

/// `template` with `{id}` of an organization route set to `org` and every other parameter to
/// something that is not a UUID.
fn fill(template: &str, org: Option<&str>) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        let end = rest[start..].find('}').unwrap() + start;
        out.push_str(&rest[..start]);
        let name = &rest[start + 1..end];
        let value = match (name, org) {
            ("id", Some(org)) if template.starts_with("/api/v1/organizations/{id}") => org,
            _ => "not-a-uuid",
        };
        out.push_str(value);
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out
}

const BAD_QUERY: &str = "?limit=0&skip=-1&project_id=&created_by=&status=NOPE";

/// The invalid request of `method path` with `token` (if any) and `X-Organization-Id: org`.
async fn send(api: &Api, method: &Method, path: &str, token: Option<&str>, org: &str) -> (u16, Value) {
    let mut rb = api
        .req(method.clone(), &format!("{path}{BAD_QUERY}"))
        .header("content-type", "application/json")
        .header("if-match", "garbage")
        .header("x-organization-id", org)
        .body("{\"name\": [");
    if let Some(token) = token {
        rb = rb.bearer_auth(token);
    }
    let r = rb.send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_protected_route_checks_credentials_then_membership_then_the_request() {
    let app = TestApp::spawn().await;
    let api = app.api();
    let owner = api.user("owner").await;
    let outsider = api.user("outsider").await;
    let org = api.create_org(&owner, &format!("authfirst-{}", &owner.id[..8])).await;
    let ops = protected_operations();
    assert!(ops.len() >= 40, "only {} protected operations found", ops.len());

    for (method, template, tenant) in &ops {
        let anywhere = fill(template, None);
        let in_org = fill(template, Some(&org));
        // No credentials, or forged ones: 401, whatever else is wrong.
        for path in [&anywhere, &in_org] {
            let (status, body) = send(&api, method, path, None, &org).await;
            assert_eq!(status, 401, "{method} {path} anonymous: {body}");
            assert_eq!(body["status_code"], 401, "{method} {path}: {body}");
            let (status, body) = send(&api, method, path, Some("forged.token.here"), &org).await;
            assert_eq!(status, 401, "{method} {path} forged token: {body}");
        }
        // An outsider of the organization: 403 on its routes before any field is checked.
        let scoped = *tenant || template.starts_with("/api/v1/organizations/{id}");
        let (status, body) = send(&api, method, &in_org, Some(&outsider.access), &org).await;
        if scoped {
            assert_eq!(status, 403, "{method} {in_org} outsider: {body}");
            assert_eq!(body["error_code"], "NOT_A_MEMBER", "{method} {in_org}: {body}");
        } else {
            assert!(![401, 403].contains(&status), "{method} {in_org} outsider: {status} {body}");
        }
        // The owner with every parameter invalid: the request itself is refused (4xx), not the
        // caller.
        let (status, body) = send(&api, method, &anywhere, Some(&owner.access), &org).await;
        assert!(![401, 403].contains(&status), "{method} {anywhere} owner: {status} {body}");
        if anywhere.contains("not-a-uuid") {
            assert!((400..500).contains(&status), "{method} {anywhere} owner: {status} {body}");
        }
    }
}
