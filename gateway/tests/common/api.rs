//! A small REST client for the end-to-end tests.

use reqwest::{Method, RequestBuilder, Response};
use serde_json::{Value, json};

pub struct Api {
    pub base: String,
    pub http: reqwest::Client,
}

impl Api {
    pub fn new(base: String) -> Self {
        Self { base, http: reqwest::Client::new() }
    }

    pub fn req(&self, method: Method, path: &str) -> RequestBuilder {
        self.http.request(method, format!("{}{path}", self.base))
    }

    pub fn authed(&self, method: Method, path: &str, token: &str) -> RequestBuilder {
        self.req(method, path).bearer_auth(token)
    }

    pub fn in_org(&self, method: Method, path: &str, token: &str, org: &str) -> RequestBuilder {
        self.authed(method, path, token).header("x-organization-id", org)
    }

    /// Registers an account (asserting 201) and logs in; returns (user, tokens).
    pub async fn signup(&self, email: &str, name: &str) -> (Value, Value) {
        let password = "correct horse battery";
        let r = self
            .req(Method::POST, "/api/v1/auth/register")
            .json(&json!({"email": email, "password": password, "full_name": name}))
            .send()
            .await
            .expect("register");
        let user = expect_json(r, 201).await;
        let r = self
            .req(Method::POST, "/api/v1/auth/login")
            .json(&json!({"email": email, "password": password}))
            .send()
            .await
            .expect("login");
        (user, expect_json(r, 200).await)
    }
}

/// Asserts the status and returns the JSON body.
pub async fn expect_json(response: Response, status: u16) -> Value {
    let actual = response.status().as_u16();
    let url = response.url().clone();
    let text = response.text().await.expect("body");
    assert_eq!(actual, status, "{url}: {text}");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{url}: not JSON ({e}): {text}"))
}

/// Asserts a status with an empty body.
pub async fn expect_empty(response: Response, status: u16) {
    let actual = response.status().as_u16();
    let url = response.url().clone();
    let text = response.text().await.expect("body");
    assert_eq!(actual, status, "{url}: {text}");
    assert!(text.is_empty(), "{url}: unexpected body {text}");
}

pub fn access(tokens: &Value) -> String {
    tokens["access_token"].as_str().expect("access_token").to_owned()
}

pub fn refresh(tokens: &Value) -> String {
    tokens["refresh_token"].as_str().expect("refresh_token").to_owned()
}
