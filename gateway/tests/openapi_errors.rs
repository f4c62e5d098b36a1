//! Every error code the OpenAPI document advertises is a code of the registry
//! (`operant_platform::error::ErrorCode`), listed under the status it is sent with, and every
//! error response names at least one code.

use operant_platform::error::ErrorCode;

/// The `SCREAMING_SNAKE` words in backticks of a description.
fn codes_in(description: &str) -> Vec<&str> {
    description
        .split('`')
        .skip(1)
        .step_by(2)
        .filter(|w| w.len() > 2 && w.chars().all(|c| c.is_ascii_uppercase() || c == '_'))
        .collect()
}

#[test]
fn every_advertised_error_code_exists_with_its_status() {
    let doc = serde_json::to_value(operant_gateway::routes::api().1).expect("document");
    let mut problems = Vec::new();
    let mut seen = 0;
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("path item") {
            let Some(responses) = op.get("responses").and_then(|r| r.as_object()) else { continue };
            for (status, response) in responses {
                let description = response["description"].as_str().unwrap_or_default();
                let codes = codes_in(description);
                let status: u16 = status.parse().expect("numeric status");
                if status >= 400 && codes.is_empty() {
                    problems.push(format!("{method} {path} {status}: names no error code"));
                }
                for text in codes {
                    seen += 1;
                    match ErrorCode::parse(text) {
                        None => problems.push(format!("{method} {path} {status}: `{text}` is no error code")),
                        Some(code) if code.http_status() != status => problems.push(format!(
                            "{method} {path} {status}: `{text}` is sent with {}",
                            code.http_status()
                        )),
                        Some(_) => {}
                    }
                }
            }
        }
    }
    assert!(seen > 100, "only {seen} codes found: is the document read right?");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
