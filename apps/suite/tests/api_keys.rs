//! Organization API keys (`Authorization: Bearer opk_…`) through REST, gRPC and grpc-web: the
//! secret shown once, lists without it, use with and without `X-Organization-Id`, another
//! organization refused, person-only routes refused, a MEMBER key held to MEMBER rights,
//! revocation and organization deletion refused by every service within a second, expiry, the
//! plan limit under concurrency, forged keys, and the per-address throttle of invalid keys.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use operant_platform::apikeys;
use operant_proto::auth::v1::{GetCurrentUserRequest, GetCurrentUserResponse};
use operant_proto::common::v1::ActorType;
use operant_proto::tenancy::v1::{
    CreateApiKeyRequest, CreateApiKeyResponse, GetOrganizationRequest, GetSubscriptionRequest,
    ListApiKeysRequest, ListApiKeysResponse, ListAuditEventsRequest, ListOrganizationsRequest,
    ListOrganizationsResponse, Plan, RevokeApiKeyRequest, Role, UpdateOrganizationRequest,
};
use operant_proto::work::v1::{
    CreateProjectRequest, DeleteProjectRequest, DeleteProjectResponse, ListProjectsRequest,
    ListProjectsResponse,
};
use operant_testkit::rest::{expect_error, expect_json};
use operant_testkit::{ApiKey, TestApp, code, grpc_web, in_org, with_key};
use reqwest::Method;
use serde_json::json;

const LIST_PROJECTS: &str = "/operant.work.v1.ProjectService/ListProjects";

/// The `authorization` metadata of a key, for grpc-web calls.
fn bearer(key: &ApiKey) -> String {
    format!("Bearer {}", key.secret)
}

/// A request with the key and an explicit `x-organization-id`.
fn with_key_in<T>(message: T, key: &ApiKey, org: &str) -> tonic::Request<T> {
    let mut request = with_key(message, key);
    request.metadata_mut().insert("x-organization-id", org.parse().unwrap());
    request
}

/// ListProjects over grpc-web at work with the key (and an organization header when given).
async fn web_list_projects(
    app: &TestApp,
    key: &ApiKey,
    org: Option<&str>,
) -> Result<ListProjectsResponse, tonic::Status> {
    let auth = bearer(key);
    let mut metadata = vec![("authorization", auth.as_str())];
    if let Some(org) = org {
        metadata.push(("x-organization-id", org));
    }
    grpc_web::call(app.work_addr, LIST_PROJECTS, &ListProjectsRequest::default(), &metadata).await
}

fn web_code<T: std::fmt::Debug>(result: Result<T, tonic::Status>) -> String {
    code(result)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_secret_is_shown_once_and_lists_never_show_it() {
    let app = TestApp::spawn().await;
    let c = app.clients();
    let api = app.api();
    let owner = c.user("owner").await;
    let org = c.org(&owner, "keys-once").await;

    let created = api
        .authed(Method::POST, &format!("/api/v1/organizations/{org}/api-keys"), &owner.access)
        .json(&json!({"name": "CI deploy", "role": "ADMIN"}))
        .send()
        .await
        .unwrap();
    let created = expect_json(created, 201).await;
    let secret = created["key"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("opk_") && secret.len() == 47, "{}", secret.len());
    assert_eq!(created["prefix"].as_str().unwrap(), &secret[..12]);
    assert_eq!(created["name"], "CI deploy");
    assert_eq!(created["role"], "ADMIN");
    assert_eq!(created["created_by"].as_str().unwrap(), owner.id);
    assert_eq!(created["created_by_type"], "USER");
    assert!(created["expires_at"].is_null());
    let id = created["id"].as_str().unwrap().to_owned();

    // REST list: the key without its secret.
    let listed = api
        .authed(Method::GET, &format!("/api/v1/organizations/{org}/api-keys"), &owner.access)
        .send()
        .await
        .unwrap();
    let listed = expect_json(listed, 200).await;
    assert_eq!(listed["total"], 1);
    let item = &listed["items"][0];
    assert_eq!(item["id"].as_str().unwrap(), id);
    assert!(item.get("key").is_none(), "{item}");
    assert!(!listed.to_string().contains(&secret[12..]), "the secret is never listed");
    // gRPC and grpc-web lists.
    let request = ListApiKeysRequest { organization_id: org.clone(), page: None };
    let grpc =
        c.api_keys.clone().list_api_keys(operant_testkit::as_user(request.clone(), &owner)).await.unwrap();
    assert_eq!(grpc.get_ref().api_keys.len(), 1);
    assert!(!format!("{:?}", grpc.get_ref()).contains(&secret[12..]));
    let auth = format!("Bearer {}", owner.access);
    let web: ListApiKeysResponse = grpc_web::call(
        app.tenancy_addr,
        "/operant.tenancy.v1.ApiKeyService/ListApiKeys",
        &request,
        &[("authorization", &auth)],
    )
    .await
    .unwrap();
    assert_eq!(web.api_keys[0].id, id);
    assert!(!format!("{web:?}").contains(&secret[12..]));

    // Stored as its digest only.
    let db = app.sql().await;
    let row = db.query_one("SELECT digest, api_keys::text AS whole FROM api_keys", &[]).await.unwrap();
    let digest: Vec<u8> = row.get(0);
    assert_eq!(digest, apikeys::digest(&secret).to_vec());
    let whole: String = row.get(1);
    assert!(!whole.contains(&secret[12..]), "no column holds the secret");

    // Created over gRPC and grpc-web too, each with its own secret.
    let message = CreateApiKeyRequest {
        request_id: String::new(),
        organization_id: org.clone(),
        name: "script".into(),
        role: Role::Member.into(),
        expires_at: None,
    };
    let grpc =
        c.api_keys.clone().create_api_key(operant_testkit::as_user(message.clone(), &owner)).await.unwrap();
    assert!(grpc.get_ref().key.starts_with("opk_") && grpc.get_ref().key != secret);
    let web: Result<CreateApiKeyResponse, _> = grpc_web::call(
        app.tenancy_addr,
        "/operant.tenancy.v1.ApiKeyService/CreateApiKey",
        &message,
        &[("authorization", &auth)],
    )
    .await;
    // FREE allows two keys.
    assert_eq!(web_code(web), "PLAN_LIMIT_REACHED");
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_acts_in_its_organization_with_or_without_the_header() {
    let app = TestApp::spawn().await;
    let c = app.clients();
    let api = app.api();
    let owner = c.user("owner").await;
    let org = c.org(&owner, "keys-act").await;
    let other = c.org(&owner, "keys-other").await;
    c.set_plan(&org, &owner, Plan::Pro).await;
    let key = c.api_key(&org, &owner, Role::Admin).await;

    // REST, without and with the header; a project made by the key records it.
    let created = api
        .authed(Method::POST, "/api/v1/projects", &key.secret)
        .json(&json!({"name": "Made by CI"}))
        .send()
        .await
        .unwrap();
    let created = expect_json(created, 201).await;
    assert_eq!(created["created_by"].as_str().unwrap(), key.id);
    assert_eq!(created["actor_type"], "API_KEY");
    let listed = api.authed(Method::GET, "/api/v1/projects", &key.secret).send().await.unwrap();
    assert_eq!(expect_json(listed, 200).await["total"], 1);
    let listed = api.in_org(Method::GET, "/api/v1/projects", &key.secret, &org).send().await.unwrap();
    assert_eq!(expect_json(listed, 200).await["total"], 1);
    let another = api.in_org(Method::GET, "/api/v1/projects", &key.secret, &other).send().await.unwrap();
    expect_error(another, 403, "NOT_A_MEMBER").await;
    let another_org =
        api.authed(Method::GET, &format!("/api/v1/organizations/{other}"), &key.secret).send().await.unwrap();
    expect_error(another_org, 403, "NOT_A_MEMBER").await;
    let own_org =
        api.authed(Method::GET, &format!("/api/v1/organizations/{org}"), &key.secret).send().await.unwrap();
    assert_eq!(expect_json(own_org, 200).await["role"], "ADMIN");

    // gRPC at work and tenancy.
    let mut projects = c.projects.clone();
    let project = projects
        .create_project(with_key(
            CreateProjectRequest { request_id: String::new(), name: "grpc".into(), description: None },
            &key,
        ))
        .await
        .unwrap()
        .into_inner()
        .project
        .unwrap();
    assert_eq!((project.created_by.as_str(), project.actor_type()), (key.id.as_str(), ActorType::ApiKey));
    assert_eq!(
        projects
            .list_projects(with_key(ListProjectsRequest::default(), &key))
            .await
            .unwrap()
            .get_ref()
            .projects
            .len(),
        2
    );
    assert_eq!(
        projects
            .list_projects(with_key_in(ListProjectsRequest::default(), &key, &org))
            .await
            .unwrap()
            .get_ref()
            .projects
            .len(),
        2
    );
    assert_eq!(
        code(projects.list_projects(with_key_in(ListProjectsRequest::default(), &key, &other)).await),
        "NOT_A_MEMBER"
    );
    let get_other = GetOrganizationRequest { organization_id: other.clone() };
    assert_eq!(code(c.orgs.clone().get_organization(with_key(get_other, &key)).await), "NOT_A_MEMBER");

    // grpc-web.
    assert_eq!(web_list_projects(&app, &key, None).await.unwrap().projects.len(), 2);
    assert_eq!(web_list_projects(&app, &key, Some(&org)).await.unwrap().projects.len(), 2);
    assert_eq!(web_code(web_list_projects(&app, &key, Some(&other)).await), "NOT_A_MEMBER");

    // The audit log names the key: an ADMIN key creates a MEMBER key.
    let create = CreateApiKeyRequest {
        request_id: String::new(),
        organization_id: org.clone(),
        name: "made by a key".into(),
        role: Role::Member.into(),
        expires_at: None,
    };
    c.api_keys.clone().create_api_key(with_key(create, &key)).await.unwrap();
    let events = c
        .subs
        .clone()
        .list_audit_events(operant_testkit::as_user(
            ListAuditEventsRequest { organization_id: org.clone(), page: None },
            &owner,
        ))
        .await
        .unwrap()
        .into_inner()
        .events;
    let added = events.iter().find(|e| e.action == "api_key.created" && e.actor_id == key.id).unwrap();
    assert_eq!((added.actor_id.as_str(), added.actor_type()), (key.id.as_str(), ActorType::ApiKey));
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn person_only_routes_refuse_keys() {
    let app = TestApp::spawn().await;
    let c = app.clients();
    let api = app.api();
    let owner = c.user("owner").await;
    let org = c.org(&owner, "keys-person").await;
    let key = c.api_key(&org, &owner, Role::Admin).await;

    for (method, path, body) in [
        (Method::GET, "/api/v1/users/me", None),
        (Method::PATCH, "/api/v1/users/me", Some(json!({"full_name": "Robot"}))),
        (
            Method::POST,
            "/api/v1/users/me/password",
            Some(json!({"current_password": "x", "new_password": "whatever123"})),
        ),
        (Method::GET, "/api/v1/auth/sessions", None),
        (Method::GET, "/api/v1/organizations", None),
        (Method::POST, "/api/v1/organizations", Some(json!({"name": "Robots", "slug": "robots"}))),
    ] {
        let mut request = api.authed(method.clone(), path, &key.secret);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 403, "{method} {path}");
        expect_error(response, 403, "API_KEY_NOT_ALLOWED").await;
    }
    assert_eq!(
        code(c.users.clone().get_current_user(with_key(GetCurrentUserRequest {}, &key)).await),
        "API_KEY_NOT_ALLOWED"
    );
    assert_eq!(
        code(c.orgs.clone().list_organizations(with_key(ListOrganizationsRequest::default(), &key)).await),
        "API_KEY_NOT_ALLOWED"
    );
    let auth = bearer(&key);
    let web: Result<GetCurrentUserResponse, _> = grpc_web::call(
        app.auth_addr,
        "/operant.auth.v1.UserService/GetCurrentUser",
        &GetCurrentUserRequest {},
        &[("authorization", &auth)],
    )
    .await;
    assert_eq!(web_code(web), "API_KEY_NOT_ALLOWED");
    let web: Result<ListOrganizationsResponse, _> = grpc_web::call(
        app.tenancy_addr,
        "/operant.tenancy.v1.OrganizationService/ListOrganizations",
        &ListOrganizationsRequest::default(),
        &[("authorization", &auth)],
    )
    .await;
    assert_eq!(web_code(web), "API_KEY_NOT_ALLOWED");
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_key_cannot_do_admin_things() {
    let app = TestApp::spawn().await;
    let c = app.clients();
    let api = app.api();
    let owner = c.user("owner").await;
    let org = c.org(&owner, "keys-member").await;
    let key = c.api_key(&org, &owner, Role::Member).await;
    let owners_project = c
        .project(&operant_testkit::Actor { user: owner.clone(), org: org.parse().unwrap() }, "Owner's")
        .await;

    // REST: key management, members, another's project.
    let keys = api
        .authed(Method::GET, &format!("/api/v1/organizations/{org}/api-keys"), &key.secret)
        .send()
        .await
        .unwrap();
    expect_error(keys, 403, "INSUFFICIENT_ROLE").await;
    let create = api
        .authed(Method::POST, &format!("/api/v1/organizations/{org}/api-keys"), &key.secret)
        .json(&json!({"name": "escalate", "role": "ADMIN"}))
        .send()
        .await
        .unwrap();
    expect_error(create, 403, "INSUFFICIENT_ROLE").await;
    let delete = api
        .authed(Method::DELETE, &format!("/api/v1/projects/{}", owners_project.id), &key.secret)
        .send()
        .await
        .unwrap();
    expect_error(delete, 403, "INSUFFICIENT_ROLE").await;
    // What a MEMBER may do, it may: create, and change its own.
    let own = api
        .authed(Method::POST, "/api/v1/projects", &key.secret)
        .json(&json!({"name": "mine"}))
        .send()
        .await
        .unwrap();
    let own = expect_json(own, 201).await;
    let delete_own = api
        .authed(Method::DELETE, &format!("/api/v1/projects/{}", own["id"].as_str().unwrap()), &key.secret)
        .send()
        .await
        .unwrap();
    assert_eq!(delete_own.status(), 204);

    // gRPC.
    let list = ListApiKeysRequest { organization_id: org.clone(), page: None };
    assert_eq!(
        code(c.api_keys.clone().list_api_keys(with_key(list.clone(), &key)).await),
        "INSUFFICIENT_ROLE"
    );
    let rename =
        UpdateOrganizationRequest { organization_id: org.clone(), name: Some("x".into()), slug: None };
    assert_eq!(code(c.orgs.clone().update_organization(with_key(rename, &key)).await), "INSUFFICIENT_ROLE");
    let delete = DeleteProjectRequest { project_id: owners_project.id.clone(), expected_version: None };
    assert_eq!(
        code(c.projects.clone().delete_project(with_key(delete.clone(), &key)).await),
        "INSUFFICIENT_ROLE"
    );

    // grpc-web.
    let auth = bearer(&key);
    let web: Result<ListApiKeysResponse, _> = grpc_web::call(
        app.tenancy_addr,
        "/operant.tenancy.v1.ApiKeyService/ListApiKeys",
        &list,
        &[("authorization", &auth)],
    )
    .await;
    assert_eq!(web_code(web), "INSUFFICIENT_ROLE");
    let web: Result<DeleteProjectResponse, _> = grpc_web::call(
        app.work_addr,
        "/operant.work.v1.ProjectService/DeleteProject",
        &delete,
        &[("authorization", &auth)],
    )
    .await;
    assert_eq!(web_code(web), "INSUFFICIENT_ROLE");

    // A key is never OWNER, and never above its creator.
    let owner_key = api
        .authed(Method::POST, &format!("/api/v1/organizations/{org}/api-keys"), &owner.access)
        .json(&json!({"name": "root", "role": "OWNER"}))
        .send()
        .await
        .unwrap();
    expect_error(owner_key, 422, "VALIDATION_ERROR").await;
    app.shutdown().await;
}

/// Polls `check` until it answers `wanted`, asserting that it does so within a second.
async fn refused_within_a_second<F, Fut>(what: &str, wanted: &[&str], mut check: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: Future<Output = String>,
{
    let started = Instant::now();
    loop {
        let answer = check().await;
        if wanted.contains(&answer.as_str()) {
            return started.elapsed();
        }
        assert!(started.elapsed() < Duration::from_secs(1), "{what} still answered {answer} after 1 s");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// The code each service answers the key with, over gRPC: work and tenancy list, auth refuses.
async fn answers(c: &operant_testkit::Clients, key: &ApiKey) -> [String; 3] {
    let work = c.projects.clone().list_projects(with_key(ListProjectsRequest::default(), key)).await;
    let tenancy = c
        .subs
        .clone()
        .get_subscription(with_key(GetSubscriptionRequest { organization_id: key.org.clone() }, key))
        .await;
    let auth = c.users.clone().get_current_user(with_key(GetCurrentUserRequest {}, key)).await;
    let code_or_ok = |e: Option<tonic::Status>| e.map(|s| code::<()>(Err(s))).unwrap_or_else(|| "OK".into());
    [code_or_ok(work.err()), code_or_ok(tenancy.err()), code_or_ok(auth.err())]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_key_is_refused_by_every_service_within_a_second() {
    let app = TestApp::spawn().await;
    let c = app.clients();
    let api = app.api();
    let owner = c.user("owner").await;
    let org = c.org(&owner, "keys-revoke").await;
    let key = c.api_key(&org, &owner, Role::Admin).await;
    // Every service has resolved and cached the key.
    assert_eq!(answers(&c, &key).await, ["OK", "OK", "API_KEY_NOT_ALLOWED"]);
    assert_eq!(web_list_projects(&app, &key, None).await.unwrap().projects.len(), 0);
    let rest = api.authed(Method::GET, "/api/v1/projects", &key.secret).send().await.unwrap();
    expect_json(rest, 200).await;

    let revoked = api
        .authed(Method::DELETE, &format!("/api/v1/organizations/{org}/api-keys/{}", key.id), &owner.access)
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 204);
    let took = refused_within_a_second("a service", &["API_KEY_REVOKED"], || async {
        let codes = answers(&c, &key).await;
        if codes.iter().all(|code| code == "API_KEY_REVOKED") {
            "API_KEY_REVOKED".into()
        } else {
            codes.join(",")
        }
    })
    .await;
    println!("every service refused the revoked key {took:?} after the revocation");
    let rest = api.authed(Method::GET, "/api/v1/projects", &key.secret).send().await.unwrap();
    expect_error(rest, 401, "API_KEY_REVOKED").await;
    assert_eq!(web_code(web_list_projects(&app, &key, None).await), "API_KEY_REVOKED");
    // Gone from the list, and a second revocation finds nothing.
    let listed = api
        .authed(Method::GET, &format!("/api/v1/organizations/{org}/api-keys"), &owner.access)
        .send()
        .await
        .unwrap();
    assert_eq!(expect_json(listed, 200).await["total"], 0);
    let again = RevokeApiKeyRequest { organization_id: org.clone(), api_key_id: key.id.clone() };
    assert_eq!(
        code(c.api_keys.clone().revoke_api_key(operant_testkit::as_user(again, &owner)).await),
        "API_KEY_NOT_FOUND"
    );
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_the_organization_revokes_its_keys_everywhere_within_a_second() {
    let app = TestApp::spawn().await;
    let c = app.clients();
    let api = app.api();
    let owner = c.user("owner").await;
    let org = c.org(&owner, "keys-doomed").await;
    let key = c.api_key(&org, &owner, Role::Admin).await;
    assert_eq!(answers(&c, &key).await, ["OK", "OK", "API_KEY_NOT_ALLOWED"]);

    let deleted = api
        .authed(Method::DELETE, &format!("/api/v1/organizations/{org}"), &owner.access)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);
    let took = refused_within_a_second("a service", &["API_KEY_UNKNOWN"], || async {
        let codes = answers(&c, &key).await;
        if codes.iter().all(|code| code == "API_KEY_UNKNOWN") {
            "API_KEY_UNKNOWN".into()
        } else {
            codes.join(",")
        }
    })
    .await;
    println!("every service refused the deleted organization's key {took:?} after the deletion");
    assert_eq!(web_code(web_list_projects(&app, &key, None).await), "API_KEY_UNKNOWN");
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_key_is_refused_everywhere() {
    let app = TestApp::spawn().await;
    let c = app.clients();
    let api = app.api();
    let owner = c.user("owner").await;
    let org = c.org(&owner, "keys-expire").await;
    let expires_at = expiry_in(2);
    let created = api
        .authed(Method::POST, &format!("/api/v1/organizations/{org}/api-keys"), &owner.access)
        .json(&json!({"name": "short-lived", "role": "MEMBER", "expires_at": expires_at.0}))
        .send()
        .await
        .unwrap();
    let created = expect_json(created, 201).await;
    assert!(created["expires_at"].is_string());
    let key = ApiKey {
        id: created["id"].as_str().unwrap().into(),
        org: org.clone(),
        secret: created["key"].as_str().unwrap().into(),
    };
    assert_eq!(answers(&c, &key).await, ["OK", "OK", "API_KEY_NOT_ALLOWED"]);
    // Wait until the expiry has passed (the whole second it falls in).
    tokio::time::sleep_until(expires_at.1 + Duration::from_millis(1100)).await;
    assert_eq!(answers(&c, &key).await, ["API_KEY_EXPIRED", "API_KEY_EXPIRED", "API_KEY_EXPIRED"]);
    let rest = api.authed(Method::GET, "/api/v1/projects", &key.secret).send().await.unwrap();
    expect_error(rest, 401, "API_KEY_EXPIRED").await;
    assert_eq!(web_code(web_list_projects(&app, &key, None).await), "API_KEY_EXPIRED");
    // Expired keys no longer count against the limit.
    let sub = api
        .authed(Method::GET, &format!("/api/v1/organizations/{org}/subscription"), &owner.access)
        .send()
        .await
        .unwrap();
    let sub = expect_json(sub, 200).await;
    assert_eq!(
        (sub["usage"]["api_keys"].as_i64(), sub["limits"]["max_api_keys"].as_i64()),
        (Some(0), Some(2))
    );
    // A past expiry is refused at creation.
    let past = api
        .authed(Method::POST, &format!("/api/v1/organizations/{org}/api-keys"), &owner.access)
        .json(&json!({"name": "late", "role": "MEMBER", "expires_at": "2020-01-01T00:00:00Z"}))
        .send()
        .await
        .unwrap();
    expect_error(past, 422, "VALIDATION_ERROR").await;
    app.shutdown().await;
}

/// An RFC 3339 time `secs` seconds from now (whole seconds) and the instant it falls at.
fn expiry_in(secs: u64) -> (String, tokio::time::Instant) {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap();
    let at = now.as_secs() + secs;
    let instant = tokio::time::Instant::now() + (Duration::from_secs(at) - now);
    let text = chrono::DateTime::from_timestamp(at as i64, 0).unwrap().to_rfc3339();
    (text, instant)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_key_limit_holds_under_concurrency() {
    let app = TestApp::spawn().await;
    let c = app.clients();
    let api = app.api();
    let owner = c.user("owner").await;
    let org = c.org(&owner, "keys-race").await;
    let attempts = (0..10).map(|i| {
        let (mut client, owner, org) = (c.api_keys.clone(), owner.clone(), org.clone());
        async move {
            let message = CreateApiKeyRequest {
                request_id: String::new(),
                organization_id: org,
                name: format!("k{i}"),
                role: Role::Member.into(),
                expires_at: None,
            };
            client.create_api_key(operant_testkit::as_user(message, &owner)).await
        }
    });
    let results = futures::future::join_all(attempts).await;
    let created = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(created, 2, "FREE allows 2 keys");
    for refused in results.into_iter().filter(|r| r.is_err()) {
        assert_eq!(code(refused), "PLAN_LIMIT_REACHED");
    }
    let db = app.sql().await;
    let count: i64 = db.query_one("SELECT count(*) FROM api_keys", &[]).await.unwrap().get(0);
    assert_eq!(count, 2);
    let rest = api
        .authed(Method::POST, &format!("/api/v1/organizations/{org}/api-keys"), &owner.access)
        .json(&json!({"name": "third", "role": "MEMBER"}))
        .send()
        .await
        .unwrap();
    expect_error(rest, 403, "PLAN_LIMIT_REACHED").await;
    let sub = c
        .subs
        .clone()
        .get_subscription(in_org(GetSubscriptionRequest { organization_id: org.clone() }, &owner, &org))
        .await
        .unwrap()
        .into_inner()
        .subscription
        .unwrap();
    assert_eq!((sub.usage.unwrap().api_keys, sub.limits.unwrap().max_api_keys), (2, 2));
    // A downgrade that the keys exceed is refused, naming them.
    c.set_plan(&org, &owner, Plan::Pro).await;
    c.api_key(&org, &owner, Role::Member).await;
    let down = api
        .authed(Method::PUT, &format!("/api/v1/organizations/{org}/subscription"), &owner.access)
        .json(&json!({"plan": "FREE"}))
        .send()
        .await
        .unwrap();
    let body = expect_error(down, 409, "PLAN_LIMIT_EXCEEDED").await;
    assert_eq!(body["errors"][0]["field"], "api_keys");
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_keys_are_refused_with_their_own_codes() {
    let app = TestApp::spawn().await;
    let c = app.clients();
    let api = app.api();
    let (unknown, _) = apikeys::generate();
    let malformed = "opk_not-a-real-key".to_owned();
    for (secret, expected) in [(&malformed, "API_KEY_MALFORMED"), (&unknown, "API_KEY_UNKNOWN")] {
        let key = ApiKey { id: String::new(), org: operant_testkit::random_id(), secret: secret.clone() };
        let rest = api.authed(Method::GET, "/api/v1/projects", secret).send().await.unwrap();
        expect_error(rest, 401, expected).await;
        let rest = api.authed(Method::GET, "/api/v1/users/me", secret).send().await.unwrap();
        expect_error(rest, 401, expected).await;
        assert_eq!(answers(&c, &key).await, [expected, expected, expected]);
        assert_eq!(web_code(web_list_projects(&app, &key, None).await), expected);
    }
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_keys_are_throttled_per_client_address() {
    let app = TestApp::spawn().await;
    let c = app.clients();
    let api = app.api();
    let owner = c.user("owner").await;
    let org = c.org(&owner, "keys-throttle").await;
    let valid = c.api_key(&org, &owner, Role::Member).await;
    // Used once here (cached by work), before the address is throttled.
    assert!(c.projects.clone().list_projects(with_key(ListProjectsRequest::default(), &valid)).await.is_ok());

    for attempt in 1..=20 {
        let (forged, _) = apikeys::generate();
        let rest = api.authed(Method::GET, "/api/v1/projects", &forged).send().await.unwrap();
        assert_eq!(rest.status(), 401, "attempt {attempt}");
    }
    let (forged, _) = apikeys::generate();
    let rest = api.authed(Method::GET, "/api/v1/projects", &forged).send().await.unwrap();
    assert_eq!(rest.status(), 429);
    let retry_after: u64 = rest.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=900).contains(&retry_after), "{retry_after}");
    expect_error(rest, 429, "TOO_MANY_ATTEMPTS").await;
    // gRPC and grpc-web from the same address: throttled too, with RetryInfo.
    let forged_key = ApiKey { id: String::new(), org: org.clone(), secret: forged };
    let grpc = c.projects.clone().list_projects(with_key(ListProjectsRequest::default(), &forged_key)).await;
    let status = grpc.unwrap_err();
    assert_eq!(code::<()>(Err(status.clone())), "TOO_MANY_ATTEMPTS");
    assert!(tonic_types::StatusExt::get_details_retry_info(&status).is_some(), "RetryInfo");
    assert_eq!(web_code(web_list_projects(&app, &forged_key, None).await), "TOO_MANY_ATTEMPTS");
    // A key not yet resolved is held back like a login; one already cached keeps working.
    let fresh = c.api_key(&org, &owner, Role::Member).await;
    assert_eq!(
        code(c.projects.clone().list_projects(with_key(ListProjectsRequest::default(), &fresh)).await),
        "TOO_MANY_ATTEMPTS"
    );
    assert!(c.projects.clone().list_projects(with_key(ListProjectsRequest::default(), &valid)).await.is_ok());
    // People are not affected: the throttle counts keys only.
    assert!(
        c.projects.clone().list_projects(in_org(ListProjectsRequest::default(), &owner, &org)).await.is_ok()
    );
    app.shutdown().await;
}
