//! `/openapi.json` is a valid OpenAPI 3 document listing every route, each of them served; `/docs` (Swagger UI) and
//! `/redoc` (ReDoc) render from assets served by the gateway itself, with no CDN.

use operant_testkit::lone::LoneGateway;
use reqwest::Url;
use serde_json::Value;

/// `method path` (ids filled in) reaches a handler: it is neither the fallback 404 nor a 405.
async fn assert_served(base: &str, method: &str, template: &str) {
    let id = uuid::Uuid::new_v4().to_string();
    let path: String = template
        .split('/')
        .map(|segment| if segment.starts_with('{') { id.as_str() } else { segment })
        .collect::<Vec<_>>()
        .join("/");
    let method = reqwest::Method::from_bytes(method.to_ascii_uppercase().as_bytes()).expect("method");
    let r =
        reqwest::Client::new().request(method.clone(), format!("{base}{path}")).send().await.expect("send");
    let status = r.status().as_u16();
    let body: Value = r.json().await.unwrap_or(Value::Null);
    assert_ne!(status, 405, "{method} {template} is documented but not routed");
    assert!(
        !(status == 404 && body["error_code"] == "NOT_FOUND"),
        "{method} {template} is documented but not routed: {body}"
    );
}

async fn get_json(url: &str) -> Value {
    let r = reqwest::get(url).await.expect("GET");
    assert_eq!(r.status(), 200, "{url}");
    r.json().await.expect("JSON")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_document_is_valid_and_complete() {
    let gw = LoneGateway::spawn().await;
    let doc = get_json(&format!("{}/openapi.json", gw.url)).await;
    assert!(
        doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")),
        "openapi version: {}",
        doc["openapi"]
    );
    assert!(doc["info"]["title"].is_string() && doc["info"]["version"].is_string());
    let paths = doc["paths"].as_object().expect("paths");
    // The document and the router come from one route table, so every documented operation
    // must be served: none may fall through to the router's 404 or 405.
    let mut operations = 0;
    for (path, item) in paths {
        for (method, op) in item.as_object().expect("path item") {
            operations += 1;
            assert_served(&gw.url, method, path).await;
            let responses = op["responses"].as_object().expect("responses");
            assert!(responses.keys().any(|s| s.starts_with('2')), "{method} {path}: no success response");
            if path != "/health" {
                for status in ["500", "503", "504"] {
                    assert!(responses.contains_key(status), "{method} {path}: no {status}");
                }
            }
            if op.get("requestBody").is_some() {
                for status in ["400", "413", "415", "422"] {
                    assert!(responses.contains_key(status), "{method} {path}: no {status}");
                }
            }
            for (status, response) in responses {
                if status.starts_with('4') || status.starts_with('5') {
                    let schema = &response["content"]["application/json"]["schema"]["$ref"];
                    if path != "/health" {
                        assert_eq!(schema, "#/components/schemas/ApiErrorBody", "{method} {path} {status}");
                    }
                }
            }
        }
    }
    // The routes of every resource (auth 11, users 5, organizations 6, members 5, invitations 8, API keys 3,
    // subscription 4, projects 6, tasks 6, events 1, webhooks 7, health 1), as the route table
    // registers them.
    assert_eq!(operations, 63, "documented operations");
    // Operation ids are unique (client generators rely on it).
    let mut ids = std::collections::HashSet::new();
    for item in paths.values() {
        for op in item.as_object().expect("path item").values() {
            if let Some(id) = op["operationId"].as_str() {
                assert!(ids.insert(id.to_owned()), "duplicate operationId {id}");
            }
        }
    }
    // Every `$ref` resolves.
    let text = doc.to_string();
    for piece in text.split("\"$ref\":\"#/components/schemas/").skip(1) {
        let name = piece.split('"').next().expect("name");
        assert!(doc["components"]["schemas"][name].is_object(), "dangling $ref {name}");
    }
    assert_eq!(doc["components"]["securitySchemes"]["bearer"]["scheme"], "bearer");
    let params = doc["paths"]["/api/v1/projects"]["get"]["parameters"].as_array().expect("params");
    assert!(
        params.iter().any(|p| p["name"] == "X-Organization-Id" && p["in"] == "header"),
        "X-Organization-Id header documented"
    );
    for name in ["skip", "limit", "order_by"] {
        assert!(params.iter().any(|p| p["name"] == name && p["in"] == "query"), "{name} documented");
    }
    let errors = &doc["components"]["schemas"]["ApiErrorBody"]["properties"];
    for field in ["detail", "error_code", "status_code", "errors"] {
        assert!(errors[field].is_object(), "ApiErrorBody.{field}");
    }
}

/// The `src`/`href` attribute values of a tag in an HTML page.
fn attribute_values(html: &str, attribute: &str) -> Vec<String> {
    let needle = format!("{attribute}=\"");
    html.split(&needle).skip(1).filter_map(|rest| rest.split('"').next()).map(str::to_owned).collect()
}

fn script_sources(html: &str) -> Vec<String> {
    html.split("<script")
        .skip(1)
        .filter_map(|tag| {
            let head = tag.split('>').next()?;
            attribute_values(head, "src").into_iter().next()
        })
        .collect()
}

fn assert_local(url: &str) {
    let lower = url.to_ascii_lowercase();
    assert!(
        !(lower.starts_with("http://") || lower.starts_with("https://") || lower.starts_with("//")),
        "external asset {url}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn swagger_ui_is_served_with_local_assets_only() {
    let gw = LoneGateway::spawn().await;
    let r = reqwest::get(format!("{}/docs", gw.url)).await.expect("GET /docs");
    assert_eq!(r.status(), 200);
    let page_url: Url = r.url().clone();
    let html = r.text().await.expect("html");
    assert!(html.contains("swagger-ui"), "a Swagger UI page");
    let scripts = script_sources(&html);
    assert!(!scripts.is_empty(), "Swagger UI loads its bundle");
    let links: Vec<String> = html
        .split("<link")
        .skip(1)
        .filter_map(|tag| attribute_values(tag.split('>').next()?, "href").into_iter().next())
        .collect();
    for asset in scripts.iter().chain(&links) {
        assert_local(asset);
        let url = page_url.join(asset).expect("asset URL");
        let r = reqwest::get(url.clone()).await.expect("GET asset");
        assert_eq!(r.status(), 200, "{url}");
        let body = r.text().await.expect("asset body");
        assert!(!body.is_empty(), "{url} is empty");
        if asset.contains("initializer") {
            assert!(body.contains("/openapi.json"), "the initializer points at our document");
            // Off the loopback, Swagger UI's default validator badge is an <img> from
            // validator.swagger.io (with our document's URL): it must be switched off.
            assert!(body.contains(r#""validatorUrl": "none""#), "the validator badge is off: {body}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redoc_is_served_with_local_assets_only() {
    let gw = LoneGateway::spawn().await;
    let r = reqwest::get(format!("{}/redoc", gw.url)).await.expect("GET /redoc");
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"].to_str().expect("ct").starts_with("text/html"));
    let page_url: Url = r.url().clone();
    let html = r.text().await.expect("html");
    for asset in script_sources(&html) {
        assert_local(&asset);
        let r = reqwest::get(page_url.join(&asset).expect("URL")).await.expect("GET asset");
        assert_eq!(r.status(), 200, "{asset}");
    }
    // The bundle itself is in the page, and it renders our document.
    assert!(html.contains("Redoc.init(\"/openapi.json\""), "ReDoc is initialised with /openapi.json");
    assert!(html.len() > 500_000, "the ReDoc bundle is embedded ({} bytes)", html.len());
    // The one URL the bundle fetches on every view is its footer logo on Redocly's CDN: it is
    // replaced by an inline image. (The bundle holds other `https://` strings, but those are
    // links, error-message references and JSON-schema ids, never requested by the page.)
    assert!(!html.contains("cdn.redoc.ly"), "the ReDoc footer logo still comes from the CDN");
    assert!(html.contains(operant_gateway::docs::REDOC_LOCAL_LOGO), "the footer logo is the inline image");
    // Every `src:"…"` the bundle's components render (images and scripts) is local or inline.
    for piece in html.split("src:\"").skip(1) {
        let src = piece.split('"').next().unwrap_or("");
        let lower = src.to_ascii_lowercase();
        assert!(
            !(lower.starts_with("http://") || lower.starts_with("https://") || lower.starts_with("//")),
            "the ReDoc bundle renders an external src {src}"
        );
    }
    // No stylesheet or font from outside either.
    for tag in html.split("<link").skip(1) {
        for href in attribute_values(tag.split('>').next().unwrap_or(""), "href") {
            assert_local(&href);
        }
    }
    assert!(!html.contains("fonts.googleapis.com"), "no web fonts from a CDN");
}
