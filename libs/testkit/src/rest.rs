//! [`Api`]: a REST client of the gateway (users, organizations and projects made over HTTP, as
//! a browser would), and assertions on its responses.

use std::time::Duration;

use reqwest::{Method, RequestBuilder, Response};
use serde_json::{Value, json};

use crate::mailbox::{Mailbox, token_of};
use crate::users::{PASSWORD, User, unique_email};

/// An HTTP client that never waits forever.
pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .connect_timeout(Duration::from_secs(5))
        .build()
        .expect("HTTP client")
}

/// The gateway at `base` (`http://127.0.0.1:<port>`).
#[derive(Clone)]
pub struct Api {
    pub base: String,
    pub http: reqwest::Client,
    /// The mail tenancy delivered (empty unless the suite runs in this process).
    pub mailbox: Mailbox,
}

impl Api {
    pub fn new(base: String) -> Self {
        Self { base, http: http(), mailbox: Mailbox::default() }
    }

    /// The same client reading invitation mail from `mailbox`.
    pub fn with_mailbox(self, mailbox: Mailbox) -> Self {
        Self { mailbox, ..self }
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

    /// Registers an account (asserting 201) and logs in; returns (user, tokens) as JSON.
    pub async fn signup(&self, email: &str, name: &str) -> (Value, Value) {
        let body = json!({"email": email, "password": PASSWORD, "full_name": name});
        let r = self.req(Method::POST, "/api/v1/auth/register").json(&body).send().await.expect("register");
        let user = expect_json(r, 201).await;
        let body = json!({"email": email, "password": PASSWORD});
        let r = self.req(Method::POST, "/api/v1/auth/login").json(&body).send().await.expect("login");
        (user, expect_json(r, 200).await)
    }

    /// Registers `tag-<uuid>@example.com` and logs in.
    pub async fn user(&self, tag: &str) -> User {
        let email = unique_email(tag);
        let (user, tokens) = self.signup(&email, tag).await;
        User {
            id: user["id"].as_str().expect("user id").to_owned(),
            email,
            access: access(&tokens),
            refresh: refresh(&tokens),
        }
    }

    /// A new session of `user` (new tokens).
    pub async fn login(&self, user: &User) -> User {
        let body = json!({"email": user.email, "password": PASSWORD});
        let r = self.req(Method::POST, "/api/v1/auth/login").json(&body).send().await.expect("login");
        let tokens = expect_json(r, 200).await;
        User { access: access(&tokens), refresh: refresh(&tokens), ..user.clone() }
    }

    /// `method path` with the user's token (and organization), expecting `want`; returns the
    /// body (`Null` for 204).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        user: &User,
        org: Option<&str>,
        body: Option<Value>,
        want: u16,
    ) -> Value {
        let mut rb = self.authed(method, path, &user.access);
        if let Some(org) = org {
            rb = rb.header("x-organization-id", org);
        }
        if let Some(body) = body {
            rb = rb.json(&body);
        }
        let r = rb.send().await.expect("send");
        if want == 204 {
            assert_eq!(r.status().as_u16(), 204, "{path}");
            return Value::Null;
        }
        expect_json(r, want).await
    }

    /// Creates an organization; returns its id.
    pub async fn create_org(&self, user: &User, slug: &str) -> String {
        let body = json!({"name": slug, "slug": slug});
        let org = self.call(Method::POST, "/api/v1/organizations", user, None, Some(body), 201).await;
        org["id"].as_str().expect("organization id").to_owned()
    }

    /// `by` invites `who` into `org` with `role` (`POST .../invitations`); returns the
    /// invitation and the token of the mailed link.
    pub async fn invite(&self, org: &str, by: &User, email: &str, role: &str) -> (Value, String) {
        let before = self.mailbox.to(email).len();
        let path = format!("/api/v1/organizations/{org}/invitations");
        let body = json!({"email": email, "role": role});
        let invitation = self.call(Method::POST, &path, by, None, Some(body), 201).await;
        let name = invitation["organization_name"].as_str().expect("organization name").to_owned();
        for n in before + 1.. {
            let mail = self.mailbox.wait_for(email, n).await;
            if mail.subject.contains(&name) {
                return (invitation, token_of(mail.link.as_deref().unwrap_or_default()));
            }
        }
        unreachable!("wait_for panics when no mail comes")
    }

    /// `by` invites `who` into `org` with `role` and `who` accepts with the mailed token
    /// (`POST /invitations/accept`); returns the new member.
    pub async fn join(&self, org: &str, by: &User, who: &User, role: &str) -> Value {
        let (_, token) = self.invite(org, by, &who.email, role).await;
        let body = json!({"token": token});
        let joined = self.call(Method::POST, "/api/v1/invitations/accept", who, None, Some(body), 200).await;
        joined["member"].clone()
    }

    /// Creates a project; returns its id.
    pub async fn create_project(&self, user: &User, org: &str, name: &str) -> String {
        let body = json!({"name": name, "description": "fault tests"});
        let p = self.call(Method::POST, "/api/v1/projects", user, Some(org), Some(body), 201).await;
        p["id"].as_str().expect("project id").to_owned()
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

/// Asserts an error response: status, `error_code` and the body shape; returns the body.
pub async fn expect_error(response: Response, status: u16, error_code: &str) -> Value {
    assert_eq!(response.status().as_u16(), status, "status of {}", response.url());
    let content_type =
        response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    assert!(content_type.starts_with("application/json"), "content type {content_type:?}");
    let body: Value = response.json().await.expect("JSON error body");
    assert_eq!(body["error_code"], error_code, "{body}");
    assert_eq!(body["status_code"], status, "{body}");
    assert!(body["detail"].is_string(), "{body}");
    body
}

/// The field named by the first violation of a 422 body.
pub fn violated_field(body: &Value) -> &str {
    body["errors"][0]["field"].as_str().unwrap_or("")
}

/// `access_token` of a token pair.
pub fn access(tokens: &Value) -> String {
    tokens["access_token"].as_str().expect("access_token").to_owned()
}

/// `refresh_token` of a token pair.
pub fn refresh(tokens: &Value) -> String {
    tokens["refresh_token"].as_str().expect("refresh_token").to_owned()
}
