//! Safe retries of tenancy's effects over gRPC (`request_id`): organization creation, API keys
//! (the replay holds the same secret), the plan change and ownership transfer.

#![allow(clippy::unwrap_used)]

use operant_proto::tenancy::v1::*;
use operant_testkit::*;
use tonic::Code;

fn replayed<T>(response: &tonic::Response<T>) -> bool {
    response.metadata().get("idempotent-replayed").is_some_and(|v| v == "true")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tenancy_effects_are_replayed() {
    let app = TestApp::spawn().await;
    let c = app.clients();
    let alice = c.user("alice").await;
    let mut orgs = c.orgs.clone();
    let create =
        CreateOrganizationRequest { request_id: "org-1".into(), name: "Acme".into(), slug: "acme-r".into() };
    let first = orgs.create_organization(as_user(create.clone(), &alice)).await.unwrap().into_inner();
    let again = orgs.create_organization(as_user(create.clone(), &alice)).await.unwrap();
    assert!(replayed(&again));
    assert_eq!(again.into_inner(), first);
    let other = CreateOrganizationRequest { slug: "acme-other".into(), ..create.clone() };
    assert_error(
        orgs.create_organization(as_user(other, &alice)).await,
        Code::FailedPrecondition,
        "IDEMPOTENCY_KEY_REUSED",
        422,
    );
    // Another person's same id is their own request (and meets the slug: a kept refusal).
    let bob = c.user("bob").await;
    let taken = orgs.create_organization(as_user(create.clone(), &bob)).await;
    assert_error(taken, Code::AlreadyExists, "SLUG_TAKEN", 409);
    let org = first.organization.unwrap().id;

    let mut keys = c.api_keys.clone();
    let key = CreateApiKeyRequest {
        request_id: "key-1".into(),
        organization_id: org.clone(),
        name: "ci".into(),
        role: Role::Member.into(),
        expires_at: None,
    };
    let k1 = keys.create_api_key(as_user(key.clone(), &alice)).await.unwrap().into_inner();
    let k2 = keys.create_api_key(as_user(key.clone(), &alice)).await.unwrap();
    assert!(replayed(&k2));
    assert_eq!(k2.into_inner().key, k1.key, "the same secret, once created");
    let listed = keys
        .list_api_keys(as_user(ListApiKeysRequest { organization_id: org.clone(), page: None }, &alice))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.api_keys.len(), 1);

    let mut subs = c.subs.clone();
    let plan = UpdateSubscriptionRequest {
        request_id: "plan".into(),
        organization_id: org.clone(),
        plan: Plan::Pro.into(),
    };
    let p1 = subs.update_subscription(as_user(plan.clone(), &alice)).await.unwrap().into_inner();
    let p2 = subs.update_subscription(as_user(plan, &alice)).await.unwrap();
    assert!(replayed(&p2));
    assert_eq!(p2.into_inner(), p1);

    c.add(&org, &alice, &bob, Role::Admin).await;
    let mut members = c.members.clone();
    let transfer = TransferOwnershipRequest {
        request_id: "owner".into(),
        organization_id: org.clone(),
        user_id: bob.id.clone(),
    };
    let t1 = members.transfer_ownership(as_user(transfer.clone(), &alice)).await.unwrap();
    assert!(!replayed(&t1));
    let t2 = members.transfer_ownership(as_user(transfer, &alice)).await.unwrap();
    assert!(replayed(&t2));
    let roles = c.roles(&org, &bob).await;
    assert_eq!(
        roles.iter().filter(|(_, r)| *r == Role::Owner).collect::<Vec<_>>(),
        [&(bob.id.clone(), Role::Owner)]
    );
}
