//! Invitations through REST: invite an address with no account, register, accept with the
//! mailed token (member with the role, email verified); another account refused; identical
//! answers for registered and unregistered addresses; the seat race; list with paging and the
//! status filter; revoke, resend, decline; expiry with a short TTL; the in-app routes refuse an
//! unverified email; a MEMBER cannot invite; invitation ids isolated between organizations; the
//! members route as a deprecated alias in OpenAPI.

use std::time::Duration;

use operant_testkit::rest::{Api, access, expect_empty, expect_error, expect_json};
use operant_testkit::{TestApp, User, token_of, unique_email};
use reqwest::Method;
use serde_json::{Value, json};

fn invitations(org: &str) -> String {
    format!("/api/v1/organizations/{org}/invitations")
}

async fn post(api: &Api, path: &str, user: &User, body: Value) -> reqwest::Response {
    api.authed(Method::POST, path, &user.access).json(&body).send().await.expect("send")
}

async fn get(api: &Api, path: &str, user: &User) -> reqwest::Response {
    api.authed(Method::GET, path, &user.access).send().await.expect("send")
}

async fn me(api: &Api, user: &User) -> Value {
    expect_json(get(api, "/api/v1/users/me", user).await, 200).await
}

/// A user whose email is verified (by accepting an invitation into a throw-away organization).
async fn verified(api: &Api, tag: &str) -> User {
    let user = api.user(tag).await;
    let host = api.user(&format!("{tag}-host")).await;
    let org =
        api.create_org(&host, &format!("host-{}", &uuid::Uuid::new_v4().simple().to_string()[..8])).await;
    api.join(&org, &host, &user, "MEMBER").await;
    assert_eq!(me(api, &user).await["email_verified"], true);
    user
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invite_register_and_accept_with_the_mailed_link() {
    let app = TestApp::spawn().await;
    let api = app.api();
    let owner = api.user("owner").await;
    let org = api.create_org(&owner, "rest-welcome").await;
    let email = unique_email("newcomer");

    let r = post(&api, &invitations(&org), &owner, json!({"email": email, "role": "ADMIN"})).await;
    let invitation = expect_json(r, 201).await;
    for key in ["id", "organization_id", "email", "role", "status", "invited_by", "created_at", "expires_at"]
    {
        assert!(invitation.get(key).is_some(), "{key} missing from {invitation}");
    }
    assert_eq!((&invitation["status"], &invitation["role"]), (&json!("PENDING"), &json!("ADMIN")));
    assert_eq!(invitation["invited_by"], owner.id.as_str());
    let mail = app.mailbox().wait_for(&email, 1).await;
    let link = mail.link.clone().expect("link");
    assert!(link.starts_with("http://localhost:8000/accept-invitation?token="), "{link}");

    // Register (the address had no account), log in, follow the link.
    let (_, tokens) = api.signup(&email, "Newcomer").await;
    let newcomer =
        User { id: String::new(), email: email.clone(), access: access(&tokens), refresh: String::new() };
    assert_eq!(me(&api, &newcomer).await["email_verified"], false);
    let r = post(&api, "/api/v1/invitations/accept", &newcomer, json!({"token": token_of(&link)})).await;
    let joined = expect_json(r, 200).await;
    assert_eq!(joined["invitation"]["status"], "ACCEPTED");
    assert_eq!(joined["member"]["role"], "ADMIN");
    assert_eq!(me(&api, &newcomer).await["email_verified"], true);
    let members =
        expect_json(get(&api, &format!("/api/v1/organizations/{org}/members"), &owner).await, 200).await;
    assert_eq!(members["total"], 2);

    let r = post(&api, "/api/v1/invitations/accept", &newcomer, json!({"token": token_of(&link)})).await;
    expect_error(r, 410, "INVITATION_NOT_PENDING").await;
    let r = post(&api, "/api/v1/invitations/accept", &newcomer, json!({"token": "unknown"})).await;
    expect_error(r, 400, "INVALID_TOKEN").await;
    let r = post(&api, &invitations(&org), &owner, json!({"email": email, "role": "MEMBER"})).await;
    expect_error(r, 409, "ALREADY_MEMBER").await;
    let r = api
        .req(Method::POST, "/api/v1/invitations/accept")
        .json(&json!({"token": "x"}))
        .send()
        .await
        .expect("send");
    expect_error(r, 401, "TOKEN_MISSING").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_account_is_refused_and_answers_do_not_reveal_accounts() {
    let app = TestApp::spawn().await;
    let api = app.api();
    let owner = api.user("owner").await;
    let org = api.create_org(&owner, "rest-same").await;
    let known = api.user("known").await;
    let unknown = unique_email("unknown");

    let a = expect_json(
        post(&api, &invitations(&org), &owner, json!({"email": known.email, "role": "MEMBER"})).await,
        201,
    )
    .await;
    let b = expect_json(
        post(&api, &invitations(&org), &owner, json!({"email": unknown, "role": "MEMBER"})).await,
        201,
    )
    .await;
    let keys = |v: &Value| v.as_object().expect("object").keys().cloned().collect::<Vec<_>>();
    assert_eq!(keys(&a), keys(&b));
    let strip = |mut v: Value| {
        for key in ["id", "email", "created_at", "expires_at"] {
            v.as_object_mut().expect("object").remove(key);
        }
        v
    };
    assert_eq!(strip(a.clone()), strip(b.clone()));
    for email in [&known.email, &unknown] {
        let r = post(&api, &invitations(&org), &owner, json!({"email": email, "role": "ADMIN"})).await;
        expect_error(r, 409, "INVITATION_PENDING").await;
    }

    let token = token_of(app.mailbox().wait_for(&known.email, 1).await.link.as_deref().expect("link"));
    let mallory = api.user("mallory").await;
    let r = post(&api, "/api/v1/invitations/accept", &mallory, json!({"token": token})).await;
    expect_error(r, 403, "INVITATION_EMAIL_MISMATCH").await;
    assert_eq!(me(&api, &mallory).await["email_verified"], false);
    let r = post(&api, "/api/v1/invitations/accept", &known, json!({"token": token})).await;
    expect_json(r, 200).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_parallel_invitations_with_two_free_seats_give_two_201() {
    let app = TestApp::spawn().await;
    let api = app.api();
    let owner = api.user("owner").await;
    let org = api.create_org(&owner, "rest-race").await;
    let path = invitations(&org);
    let attempts = (0..10).map(|i| {
        let (api, path, owner) = (api.clone(), path.clone(), owner.clone());
        async move {
            let body = json!({"email": unique_email(&format!("seat{i}")), "role": "MEMBER"});
            let r = post(&api, &path, &owner, body).await;
            let status = r.status().as_u16();
            let body: Value = r.json().await.expect("json");
            (status, body["error_code"].as_str().unwrap_or_default().to_owned())
        }
    });
    let mut results = futures::future::join_all(attempts).await;
    results.sort();
    let mut expected = vec![(201, String::new()); 2];
    expected.extend(vec![(403, "PLAN_LIMIT_REACHED".to_owned()); 8]);
    assert_eq!(results, expected);
    let list = expect_json(get(&api, &format!("{path}?status=PENDING"), &owner).await, 200).await;
    assert_eq!(list["total"], 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_revoke_resend_and_decline() {
    let app = TestApp::spawn().await;
    let api = app.api();
    let owner = api.user("owner").await;
    let org = api.create_org(&owner, "rest-manage").await;
    expect_json(
        api.authed(Method::PUT, &format!("/api/v1/organizations/{org}/subscription"), &owner.access)
            .json(&json!({"plan": "PRO"}))
            .send()
            .await
            .expect("upgrade"),
        200,
    )
    .await;
    let path = invitations(&org);
    let (carol, dave) = (api.user("carol").await, verified(&api, "dave").await);
    let (c, _) = api.invite(&org, &owner, &carol.email, "MEMBER").await;
    let (d, old_token) = api.invite(&org, &owner, &dave.email, "ADMIN").await;
    for i in 0..3 {
        api.invite(&org, &owner, &unique_email(&format!("extra{i}")), "MEMBER").await;
    }

    // Paging and the status filter.
    let page =
        expect_json(get(&api, &format!("{path}?limit=2&skip=0&order_by=-created_at"), &owner).await, 200)
            .await;
    assert_eq!((page["total"].as_i64(), page["items"].as_array().map(Vec::len)), (Some(5), Some(2)));
    let r = get(&api, &format!("{path}?status=SOMETIMES"), &owner).await;
    expect_error(r, 422, "VALIDATION_ERROR").await;

    // Revoke.
    let c_id = c["id"].as_str().expect("id");
    let r =
        api.authed(Method::DELETE, &format!("{path}/{c_id}"), &owner.access).send().await.expect("revoke");
    expect_empty(r, 204).await;
    let revoked = expect_json(get(&api, &format!("{path}?status=REVOKED"), &owner).await, 200).await;
    assert_eq!(revoked["items"][0]["id"], c_id);
    let r = api.authed(Method::DELETE, &format!("{path}/{c_id}"), &owner.access).send().await.expect("again");
    expect_error(r, 410, "INVITATION_NOT_PENDING").await;

    // Resend: new token, the old one dead.
    let d_id = d["id"].as_str().expect("id");
    let r = post(&api, &format!("{path}/{d_id}/resend"), &owner, json!({})).await;
    assert_eq!(expect_json(r, 200).await["status"], "PENDING");
    let new_token = token_of(app.mailbox().wait_for(&dave.email, 3).await.link.as_deref().expect("link"));
    assert_ne!(new_token, old_token);
    let r = post(&api, "/api/v1/invitations/accept", &dave, json!({"token": old_token})).await;
    expect_error(r, 400, "INVALID_TOKEN").await;

    // Dave (verified) sees it in the app and declines it.
    let mine = expect_json(get(&api, "/api/v1/invitations", &dave).await, 200).await;
    assert_eq!((mine["total"].as_i64(), &mine["items"][0]["id"]), (Some(1), &json!(d_id)));
    let declined =
        expect_json(post(&api, &format!("/api/v1/invitations/{d_id}/decline"), &dave, json!({})).await, 200)
            .await;
    assert_eq!(declined["status"], "DECLINED");
    let r = post(&api, "/api/v1/invitations/accept", &dave, json!({"token": new_token})).await;
    expect_error(r, 410, "INVITATION_NOT_PENDING").await;
    assert_eq!(expect_json(get(&api, "/api/v1/invitations", &dave).await, 200).await["total"], 0);

    // Accepted in the app by id, after a fresh invitation.
    let (again, _) = api.invite(&org, &owner, &dave.email, "MEMBER").await;
    let again_id = again["id"].as_str().expect("id");
    let joined = expect_json(
        post(&api, &format!("/api/v1/invitations/{again_id}/accept"), &dave, json!({})).await,
        200,
    )
    .await;
    assert_eq!(joined["member"]["role"], "MEMBER");

    let log = expect_json(
        get(&api, &format!("/api/v1/organizations/{org}/audit-log?limit=100"), &owner).await,
        200,
    )
    .await;
    let actions: Vec<&str> =
        log["items"].as_array().expect("items").iter().filter_map(|e| e["action"].as_str()).collect();
    for action in [
        "invitation.created",
        "invitation.revoked",
        "invitation.resent",
        "invitation.declined",
        "invitation.accepted",
    ] {
        assert!(actions.contains(&action), "{action} missing from {actions:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_invitations_answer_410_and_free_their_seat() {
    let app = TestApp::spawn_with(|s| s.invitation_ttl = Duration::from_secs(2)).await;
    let api = app.api();
    let owner = api.user("owner").await;
    let org = api.create_org(&owner, "rest-expiry").await;
    let guest = api.user("guest").await;
    let (_, token) = api.invite(&org, &owner, &guest.email, "MEMBER").await;
    api.invite(&org, &owner, &unique_email("other"), "MEMBER").await;
    let r = post(&api, &invitations(&org), &owner, json!({"email": unique_email("third"), "role": "MEMBER"}))
        .await;
    expect_error(r, 403, "PLAN_LIMIT_REACHED").await;
    tokio::time::sleep(Duration::from_millis(2500)).await;

    let r = post(&api, "/api/v1/invitations/accept", &guest, json!({"token": token})).await;
    expect_error(r, 410, "INVITATION_EXPIRED").await;
    let expired =
        expect_json(get(&api, &format!("{}?status=EXPIRED", invitations(&org)), &owner).await, 200).await;
    assert_eq!(expired["total"], 2);
    assert_eq!(expired["items"][0]["status"], "EXPIRED");
    let r = post(&api, &invitations(&org), &owner, json!({"email": guest.email, "role": "MEMBER"})).await;
    expect_json(r, 201).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_app_routes_need_a_verified_email_and_a_member_cannot_invite() {
    let app = TestApp::spawn().await;
    let api = app.api();
    let owner = api.user("owner").await;
    let org = api.create_org(&owner, "rest-rules").await;
    let member = api.user("member").await;
    api.join(&org, &owner, &member, "MEMBER").await;
    let r =
        post(&api, &invitations(&org), &member, json!({"email": unique_email("x"), "role": "MEMBER"})).await;
    expect_error(r, 403, "INSUFFICIENT_ROLE").await;
    expect_error(get(&api, &invitations(&org), &member).await, 403, "INSUFFICIENT_ROLE").await;
    let r =
        post(&api, &invitations(&org), &owner, json!({"email": unique_email("x"), "role": "OWNER"})).await;
    expect_error(r, 422, "VALIDATION_ERROR").await;

    let squatter = api.user("squatter").await;
    let (invitation, _) = api.invite(&org, &owner, &squatter.email, "MEMBER").await;
    let id = invitation["id"].as_str().expect("id");
    expect_error(get(&api, "/api/v1/invitations", &squatter).await, 403, "EMAIL_NOT_VERIFIED").await;
    let r = post(&api, &format!("/api/v1/invitations/{id}/accept"), &squatter, json!({})).await;
    expect_error(r, 403, "EMAIL_NOT_VERIFIED").await;
    let r = post(&api, &format!("/api/v1/invitations/{id}/decline"), &squatter, json!({})).await;
    expect_error(r, 403, "EMAIL_NOT_VERIFIED").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invitation_ids_are_isolated_between_organizations() {
    let app = TestApp::spawn().await;
    let api = app.api();
    let (alice, bob) = (api.user("alice").await, api.user("bob").await);
    let (a_org, b_org) = (api.create_org(&alice, "rest-alice").await, api.create_org(&bob, "rest-bob").await);
    let guest = api.user("guest").await;
    let (invitation, _) = api.invite(&a_org, &alice, &guest.email, "MEMBER").await;
    let id = invitation["id"].as_str().expect("id");
    let r = api
        .authed(Method::DELETE, &format!("{}/{id}", invitations(&b_org)), &bob.access)
        .send()
        .await
        .expect("send");
    expect_error(r, 404, "INVITATION_NOT_FOUND").await;
    let r = post(&api, &format!("{}/{id}/resend", invitations(&b_org)), &bob, json!({})).await;
    expect_error(r, 404, "INVITATION_NOT_FOUND").await;
    let r = api
        .authed(Method::DELETE, &format!("{}/{id}", invitations(&a_org)), &bob.access)
        .send()
        .await
        .expect("send");
    expect_error(r, 403, "NOT_A_MEMBER").await;
    let outsider = verified(&api, "outsider").await;
    let r = post(&api, &format!("/api/v1/invitations/{id}/accept"), &outsider, json!({})).await;
    expect_error(r, 404, "INVITATION_NOT_FOUND").await;
    let list = expect_json(get(&api, &invitations(&b_org), &bob).await, 200).await;
    assert_eq!(list["total"], 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_members_route_is_a_deprecated_alias_in_openapi() {
    let app = TestApp::spawn().await;
    let doc: Value =
        app.api().req(Method::GET, "/openapi.json").send().await.expect("doc").json().await.expect("json");
    let paths = &doc["paths"];
    assert_eq!(paths["/api/v1/organizations/{id}/members"]["post"]["deprecated"], true);
    assert_ne!(paths["/api/v1/organizations/{id}/invitations"]["post"]["deprecated"], true);
    let responses = &paths["/api/v1/organizations/{id}/members"]["post"]["responses"];
    assert!(responses.get("404").is_none() || !responses["404"].to_string().contains("USER_NOT_FOUND"));
    for path in [
        "/api/v1/organizations/{id}/invitations",
        "/api/v1/organizations/{id}/invitations/{invitation_id}",
        "/api/v1/organizations/{id}/invitations/{invitation_id}/resend",
        "/api/v1/invitations",
        "/api/v1/invitations/accept",
        "/api/v1/invitations/{id}/accept",
        "/api/v1/invitations/{id}/decline",
    ] {
        assert!(paths.get(path).is_some(), "{path} is not documented");
    }
}
