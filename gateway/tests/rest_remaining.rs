//! The REST routes the other flows do not walk: profile update, password change, email
//! verification, plans and features, the audit log and ownership transfer.

use operant_testkit::rest::expect_error;
use operant_testkit::rest::{access, expect_empty, expect_json};
use operant_testkit::{PASSWORD, TestApp};
use reqwest::Method;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn profile_password_and_email_verification() {
    let app = TestApp::spawn().await;
    let api = app.api();
    let (_, tokens) = api.signup("profile@example.com", "Before").await;
    let token = access(&tokens);
    let r = api
        .req(Method::POST, "/api/v1/auth/login")
        .json(&json!({"email": "profile@example.com", "password": PASSWORD}))
        .send()
        .await
        .expect("second login");
    let other_session = expect_json(r, 200).await;

    for method in [Method::PUT, Method::PATCH] {
        let name = format!("After {method}");
        let r = api.authed(method, "/api/v1/users/me", &token).json(&json!({"full_name": name})).send().await;
        assert_eq!(expect_json(r.expect("update"), 200).await["full_name"], name);
    }

    let wrong = api
        .authed(Method::POST, "/api/v1/users/me/password", &token)
        .json(&json!({"current_password": "not the password", "new_password": "a brand new password"}))
        .send()
        .await
        .expect("change");
    expect_error(wrong, 400, "WRONG_PASSWORD").await;
    let changed = api
        .authed(Method::POST, "/api/v1/users/me/password", &token)
        .json(&json!({"current_password": PASSWORD, "new_password": "a brand new password"}))
        .send()
        .await
        .expect("change");
    expect_empty(changed, 204).await;
    // The other session ended; this one goes on; the new password logs in.
    let r = api.authed(Method::GET, "/api/v1/users/me", &access(&other_session)).send().await.expect("me");
    expect_error(r, 401, "TOKEN_REVOKED").await;
    let r = api.authed(Method::GET, "/api/v1/users/me", &token).send().await.expect("me");
    assert_eq!(expect_json(r, 200).await["email_verified"], false);
    let r = api
        .req(Method::POST, "/api/v1/auth/login")
        .json(&json!({"email": "profile@example.com", "password": "a brand new password"}))
        .send()
        .await
        .expect("login");
    expect_json(r, 200).await;

    let r =
        api.authed(Method::POST, "/api/v1/auth/verify-email/request", &token).send().await.expect("request");
    assert_eq!(r.status(), 202);
    let r = api
        .req(Method::POST, "/api/v1/auth/verify-email/confirm")
        .json(&json!({"token": "not-a-real-token"}))
        .send()
        .await
        .expect("confirm");
    expect_error(r, 400, "INVALID_TOKEN").await;
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plans_features_audit_log_and_ownership() {
    let app = TestApp::spawn().await;
    let api = app.api();
    let (_, owner) = api.signup("boss@example.com", "Boss").await;
    let (heir, heir_tokens) = api.signup("heir@example.com", "Heir").await;
    let token = access(&owner);
    let r = api
        .authed(Method::POST, "/api/v1/organizations", &token)
        .json(&json!({"name": "Audited", "slug": "audited"}))
        .send()
        .await
        .expect("org");
    let org = expect_json(r, 201).await["id"].as_str().expect("id").to_owned();
    let base = format!("/api/v1/organizations/{org}");

    let r = api.authed(Method::GET, &format!("{base}/features"), &token).send().await.expect("features");
    let features = expect_json(r, 200).await;
    assert!(features.to_string().contains("audit_log"), "{features}");
    let r = api.authed(Method::GET, &format!("{base}/audit-log"), &token).send().await.expect("audit");
    expect_error(r, 403, "FEATURE_NOT_IN_PLAN").await;

    let r = api
        .authed(Method::PUT, &format!("{base}/subscription"), &token)
        .json(&json!({"plan": "PRO"}))
        .send()
        .await
        .expect("upgrade");
    assert_eq!(expect_json(r, 200).await["plan"], "PRO");
    let r = api
        .authed(Method::POST, &format!("{base}/invitations"), &token)
        .json(&json!({"email": "heir@example.com", "role": "ADMIN"}))
        .send()
        .await
        .expect("invite");
    expect_json(r, 201).await;
    let mailed = app.mailbox().wait_for("heir@example.com", 1).await;
    let r = api
        .authed(Method::POST, "/api/v1/invitations/accept", &access(&heir_tokens))
        .json(&json!({"token": operant_testkit::token_of(mailed.link.as_deref().expect("link"))}))
        .send()
        .await
        .expect("accept");
    expect_json(r, 200).await;
    let heir_id = heir["id"].as_str().expect("id");

    // Only the owner transfers ownership; afterwards the heir is OWNER and the old owner ADMIN.
    let r = api
        .authed(Method::POST, &format!("{base}/transfer-ownership"), &access(&heir_tokens))
        .json(&json!({"user_id": heir_id}))
        .send()
        .await
        .expect("transfer by admin");
    expect_error(r, 403, "INSUFFICIENT_ROLE").await;
    let r = api
        .authed(Method::POST, &format!("{base}/transfer-ownership"), &token)
        .json(&json!({"user_id": heir_id}))
        .send()
        .await
        .expect("transfer");
    assert!(r.status().is_success(), "transfer: {}", r.status());
    let r = api.authed(Method::GET, &base, &access(&heir_tokens)).send().await.expect("get");
    assert_eq!(expect_json(r, 200).await["role"], "OWNER");

    let r = api.authed(Method::GET, &format!("{base}/audit-log"), &token).send().await.expect("audit");
    let log = expect_json(r, 200).await;
    let actions: Vec<&str> =
        log["items"].as_array().expect("items").iter().filter_map(|e| e["action"].as_str()).collect();
    for action in ["plan.changed", "invitation.created", "invitation.accepted", "ownership.transferred"] {
        assert!(actions.contains(&action), "{action} missing from {actions:?}");
    }
    // Newest first.
    assert_eq!(actions.first(), Some(&"ownership.transferred"), "{actions:?}");
    app.shutdown().await;
}
