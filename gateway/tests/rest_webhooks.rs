//! `/api/v1/organizations/{id}/webhooks*` over REST: the plan and role refusals and their error
//! bodies, validation, the secret shown once, list/get/patch/delete, rotation, and a task
//! created through REST delivered (signed) to a receiver on loopback and listed in the
//! deliveries log.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use base64::Engine;
use operant_testkit::TestApp;
use operant_testkit::receiver::{Received, Receiver};
use operant_testkit::rest::{expect_error, expect_json, violated_field};
use reqwest::Method;
use serde_json::{Value, json};

/// The Standard Webhooks check, from the specification: one `v1,` signature is the base64
/// HMAC-SHA256 of `id.timestamp.body` under the key of `secret`.
fn verifies(secret: &str, r: &Received) -> bool {
    let b64 = base64::engine::general_purpose::STANDARD;
    let key = b64.decode(secret.strip_prefix("whsec_").unwrap()).unwrap();
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &key);
    let mut message = format!("{}.{}.", r.id, r.timestamp).into_bytes();
    message.extend_from_slice(&r.body);
    r.signature.split(' ').any(|s| {
        s.strip_prefix("v1,")
            .and_then(|t| b64.decode(t).ok())
            .is_some_and(|tag| ring::hmac::verify(&key, &message, &tag).is_ok())
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_over_rest() {
    let app = TestApp::spawn().await;
    let api = app.api();
    let (owner, member, outsider) =
        (api.user("owner").await, api.user("member").await, api.user("outsider").await);
    let org = api.create_org(&owner, &format!("hooks-{}", &owner.id[..8])).await;
    api.join(&org, &owner, &member, "MEMBER").await;
    let receiver = Receiver::start().await;
    let base = format!("/api/v1/organizations/{org}/webhooks");
    let body = json!({"url": receiver.url(), "event_types": ["task.created"], "description": "CI"});
    let post = |user: String, body: &Value| api.authed(Method::POST, &base, &user).json(body).send();

    // FREE: a clear 403 naming the feature.
    let free =
        expect_error(post(owner.access.clone(), &body).await.unwrap(), 403, "FEATURE_NOT_IN_PLAN").await;
    assert!(free["detail"].as_str().unwrap().contains("webhooks"), "{free}");
    assert_eq!(free["status_code"], 403);
    let sub = format!("/api/v1/organizations/{org}/subscription");
    api.call(Method::PUT, &sub, &owner, None, Some(json!({"plan": "PRO"})), 200).await;
    expect_error(post(member.access.clone(), &body).await.unwrap(), 403, "INSUFFICIENT_ROLE").await;
    expect_error(post(outsider.access.clone(), &body).await.unwrap(), 403, "NOT_A_MEMBER").await;
    let bad = json!({"url": "ftp://x", "event_types": ["task.created"]});
    let r = expect_error(post(owner.access.clone(), &bad).await.unwrap(), 422, "VALIDATION_ERROR").await;
    assert_eq!(violated_field(&r), "url");
    let r = expect_error(
        post(owner.access.clone(), &json!({"url": receiver.url(), "event_types": []})).await.unwrap(),
        422,
        "VALIDATION_ERROR",
    )
    .await;
    assert_eq!(violated_field(&r), "event_types");

    let created = expect_json(post(owner.access.clone(), &body).await.unwrap(), 201).await;
    let secret = created["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"));
    assert_eq!(created["url"], receiver.url().as_str());
    assert_eq!((created["enabled"].clone(), created["disabled_reason"].clone()), (json!(true), Value::Null));
    let id = created["id"].as_str().unwrap().to_owned();
    let one = format!("{base}/{id}");

    let list = api.call(Method::GET, &base, &owner, None, None, 200).await;
    assert_eq!(list["total"], 1);
    assert_eq!(list["items"][0]["id"], id.as_str());
    assert!(list["items"][0].get("secret").is_none(), "never shown again");
    let got = api.call(Method::GET, &one, &owner, None, None, 200).await;
    assert!(got.get("secret").is_none());
    let missing = format!("{base}/{}", uuid::Uuid::new_v4());
    let r = api.authed(Method::GET, &missing, &owner.access).send().await.unwrap();
    expect_error(r, 404, "WEBHOOK_NOT_FOUND").await;
    let r = api.authed(Method::GET, &one, &member.access).send().await.unwrap();
    expect_error(r, 403, "INSUFFICIENT_ROLE").await;
    let r =
        api.authed(Method::PATCH, &one, &owner.access).json(&json!({"enabled": null})).send().await.unwrap();
    assert_eq!(violated_field(&expect_error(r, 422, "VALIDATION_ERROR").await), "enabled");
    let patched =
        api.call(Method::PATCH, &one, &owner, None, Some(json!({"description": "Tasks"})), 200).await;
    assert_eq!((patched["description"].as_str(), patched["enabled"].as_bool()), (Some("Tasks"), Some(true)));

    // A task created through REST reaches the receiver, signed.
    let project = api.create_project(&owner, &org, "Hooks").await;
    let task = json!({"title": "Ship", "project_id": project});
    let task = api.call(Method::POST, "/api/v1/tasks", &member, Some(&org), Some(task), 201).await;
    let got = receiver.wait_for(1, Duration::from_secs(15)).await;
    assert!(verifies(&secret, &got[0]));
    let event = got[0].json();
    assert_eq!(event["type"], "task.created");
    assert_eq!(event["data"]["id"], task["id"]);
    assert_eq!(event["actor"], json!({"type": "USER", "id": member.id}));

    // The attempt is logged once the receiver has answered.
    let mut log = Value::Null;
    for _ in 0..100 {
        log = api.call(Method::GET, &format!("{one}/deliveries"), &owner, None, None, 200).await;
        if log["total"] == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let first = &log["items"][0];
    assert_eq!((first["status_code"].clone(), first["delivered"].clone()), (json!(200), json!(true)));
    assert_eq!(first["event_id"], event["id"]);
    assert_eq!((first["error"].clone(), first["next_retry_at"].clone()), (Value::Null, Value::Null));
    assert!(first["latency_ms"].as_i64().unwrap() >= 0);
    let r = api
        .authed(Method::GET, &format!("{one}/deliveries?order_by=attempted_at"), &owner.access)
        .send()
        .await;
    assert_eq!(violated_field(&expect_error(r.unwrap(), 422, "VALIDATION_ERROR").await), "order_by");

    let rotated = api.call(Method::POST, &format!("{one}/rotate-secret"), &owner, None, None, 200).await;
    assert_ne!(rotated["secret"], secret.as_str());
    assert!(rotated["previous_secret_expires_at"].is_string());

    api.call(Method::DELETE, &one, &owner, None, None, 204).await;
    let r = api.authed(Method::DELETE, &one, &owner.access).send().await.unwrap();
    expect_error(r, 404, "WEBHOOK_NOT_FOUND").await;
    app.shutdown().await;
}
