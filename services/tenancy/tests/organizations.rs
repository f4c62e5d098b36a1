//! OrganizationService through gRPC: creation, slugs, listing with paging and sorting, updates
//! and deletion with the role matrix.

use operant_proto::tenancy::v1::*;
use operant_testkit::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_makes_the_caller_owner_on_free() {
    let app = TestApp::spawn().await;
    let h = app.clients();
    let alice = h.user("alice").await;
    let created = h
        .orgs
        .clone()
        .create_organization(as_user(
            CreateOrganizationRequest {
                request_id: String::new(),
                name: "  Acme Corp  ".into(),
                slug: "acme-corp".into(),
            },
            &alice,
        ))
        .await
        .expect("create")
        .into_inner()
        .organization
        .expect("organization");
    assert_eq!(created.name, "Acme Corp");
    assert_eq!(created.slug, "acme-corp");
    assert_eq!(created.role(), Role::Owner);
    assert_eq!(created.plan(), Plan::Free);
    assert!(created.created_at.is_some() && created.updated_at.is_some());

    let fetched = h
        .orgs
        .clone()
        .get_organization(as_user(GetOrganizationRequest { organization_id: created.id.clone() }, &alice))
        .await
        .expect("get")
        .into_inner()
        .organization
        .expect("organization");
    assert_eq!(fetched, created);

    let subscription = h
        .subs
        .clone()
        .get_subscription(as_user(GetSubscriptionRequest { organization_id: created.id.clone() }, &alice))
        .await
        .expect("subscription")
        .into_inner()
        .subscription
        .expect("subscription");
    assert_eq!(subscription.plan(), Plan::Free);
    assert_eq!(subscription.usage.expect("usage").users, 1);

    let members = h.roles(&created.id, &alice).await;
    assert_eq!(members, vec![(alice.id.clone(), Role::Owner)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slugs_are_validated_and_unique() {
    let app = TestApp::spawn().await;
    let h = app.clients();
    let alice = h.user("alice").await;
    let bob = h.user("bob").await;
    let mut orgs = h.orgs.clone();
    for bad in ["", "a", "Acme", "acme_corp", "-acme", "acme-", "ac--me", "with space", &"x".repeat(64)] {
        let request =
            CreateOrganizationRequest { request_id: String::new(), name: "Acme".into(), slug: bad.into() };
        let result = orgs.create_organization(as_user(request, &alice)).await;
        assert_eq!(violations(result), ("VALIDATION_ERROR".into(), vec!["slug".into()]), "slug {bad:?}");
    }
    let result = orgs
        .create_organization(as_user(
            CreateOrganizationRequest { request_id: String::new(), name: "   ".into(), slug: "".into() },
            &alice,
        ))
        .await;
    assert_eq!(violations(result), ("VALIDATION_ERROR".into(), vec!["name".into(), "slug".into()]));

    h.org(&alice, "taken").await;
    let again =
        CreateOrganizationRequest { request_id: String::new(), name: "Other".into(), slug: "taken".into() };
    let status = orgs.create_organization(as_user(again, &bob)).await.expect_err("slug taken");
    assert_eq!(http_status(&status), 409);
    assert_eq!(code::<()>(Err(status)), "SLUG_TAKEN");

    // Ten parallel creations of one slug: exactly one wins, the rest are SLUG_TAKEN.
    let attempts = (0..10).map(|i| {
        let mut orgs = h.orgs.clone();
        let user = if i % 2 == 0 { alice.clone() } else { bob.clone() };
        async move {
            orgs.create_organization(as_user(
                CreateOrganizationRequest {
                    request_id: String::new(),
                    name: format!("Race {i}"),
                    slug: "race".into(),
                },
                &user,
            ))
            .await
        }
    });
    let results = futures::future::join_all(attempts).await;
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1);
    for result in results.into_iter().filter(|r| r.is_err()) {
        assert_eq!(code(result), "SLUG_TAKEN");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_pages_and_sorts_the_callers_organizations() {
    let app = TestApp::spawn().await;
    let h = app.clients();
    let alice = h.user("alice").await;
    let bob = h.user("bob").await;
    for slug in ["charlie", "alpha", "bravo"] {
        h.org(&alice, slug).await;
    }
    let bobs = h.org(&bob, "bobs").await;
    h.add(&bobs, &bob, &alice, Role::Member).await;

    let mut orgs = h.orgs.clone();
    let list = |page| ListOrganizationsRequest { page };
    let all = orgs.list_organizations(as_user(list(None), &alice)).await.expect("list").into_inner();
    let info = all.page.expect("page info");
    assert_eq!((info.total, info.skip, info.limit), (4, 0, 20));
    // Default order: newest first.
    let slugs: Vec<_> = all.organizations.iter().map(|o| o.slug.as_str()).collect();
    assert_eq!(slugs, ["bobs", "bravo", "alpha", "charlie"]);
    let roles: Vec<_> = all.organizations.iter().map(|o| o.role()).collect();
    assert_eq!(roles, [Role::Member, Role::Owner, Role::Owner, Role::Owner]);

    let sorted = orgs.list_organizations(as_user(list(page(1, 2, "slug")), &alice)).await.expect("list");
    let sorted = sorted.into_inner();
    let slugs: Vec<_> = sorted.organizations.iter().map(|o| o.slug.as_str()).collect();
    assert_eq!(slugs, ["bobs", "bravo"]);
    assert_eq!(sorted.page.map(|p| (p.total, p.skip, p.limit)), Some((4, 1, 2)));

    let desc = orgs.list_organizations(as_user(list(page(0, 0, "-name")), &alice)).await.expect("list");
    let names: Vec<_> = desc.into_inner().organizations.into_iter().map(|o| o.name).collect();
    assert_eq!(names, ["Org charlie", "Org bravo", "Org bobs", "Org alpha"]);

    // Bob only sees his own.
    let bob_list = orgs.list_organizations(as_user(list(None), &bob)).await.expect("list").into_inner();
    assert_eq!(bob_list.organizations.len(), 1);

    for (bad, field) in
        [(page(-1, 0, ""), "skip"), (page(0, 101, ""), "limit"), (page(0, 0, "-secret"), "order_by")]
    {
        let result = orgs.list_organizations(as_user(list(bad), &alice)).await;
        assert_eq!(violations(result), ("VALIDATION_ERROR".into(), vec![field.into()]));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_owner_updates() {
    let app = TestApp::spawn().await;
    let h = app.clients();
    let team = h.team("team").await;
    h.org(&team.admin, "elsewhere").await;
    let mut orgs = h.orgs.clone();
    let rename = |name: Option<&str>, slug: Option<&str>| UpdateOrganizationRequest {
        organization_id: team.org.clone(),
        name: name.map(Into::into),
        slug: slug.map(Into::into),
    };
    for user in [&team.admin, &team.member] {
        let result = orgs.update_organization(as_user(rename(Some("Hijacked"), None), user)).await;
        assert_eq!(code(result), "INSUFFICIENT_ROLE");
    }
    let updated = orgs
        .update_organization(as_user(rename(Some("Renamed"), Some("renamed")), &team.owner))
        .await
        .expect("owner renames")
        .into_inner()
        .organization
        .expect("organization");
    assert_eq!((updated.name.as_str(), updated.slug.as_str()), ("Renamed", "renamed"));

    let taken = orgs.update_organization(as_user(rename(None, Some("elsewhere")), &team.owner)).await;
    assert_eq!(code(taken), "SLUG_TAKEN");
    let bad = orgs.update_organization(as_user(rename(Some(""), Some("Bad Slug")), &team.owner)).await;
    assert_eq!(violations(bad), ("VALIDATION_ERROR".into(), vec!["name".into(), "slug".into()]));
    // Nothing to change is not an error.
    let same = orgs.update_organization(as_user(rename(None, None), &team.owner)).await.expect("no-op");
    assert_eq!(same.into_inner().organization.map(|o| o.slug), Some("renamed".into()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_owner_deletes_and_members_lose_access() {
    let app = TestApp::spawn().await;
    let h = app.clients();
    let team = h.team("doomed").await;
    let mut orgs = h.orgs.clone();
    let delete = || DeleteOrganizationRequest { organization_id: team.org.clone() };
    for user in [&team.admin, &team.member] {
        assert_eq!(code(orgs.delete_organization(as_user(delete(), user)).await), "INSUFFICIENT_ROLE");
    }
    orgs.delete_organization(as_user(delete(), &team.owner)).await.expect("owner deletes");
    for user in [&team.owner, &team.admin, &team.member] {
        let get = GetOrganizationRequest { organization_id: team.org.clone() };
        assert_eq!(code(orgs.get_organization(as_user(get, user)).await), "NOT_A_MEMBER");
        let check = CheckMembershipRequest { user_id: user.id.clone(), organization_id: team.org.clone() };
        let member = h.tenancy_internal.clone().check_membership(h.as_service(check)).await.expect("check");
        assert!(!member.into_inner().member);
    }
    // The slug is free again.
    h.org(&team.owner, "doomed").await;
    // Deleting again: the organization is gone, which looks like any other non-membership.
    assert_eq!(code(orgs.delete_organization(as_user(delete(), &team.owner)).await), "NOT_A_MEMBER");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deletion_is_refused_while_work_is_unreachable() {
    let app =
        operant_testkit::TestApp::spawn_with(|s| s.endpoints.work = vec!["http://127.0.0.1:9".into()]).await;
    let h = app.clients();
    let owner = h.user("owner").await;
    let org = h.org(&owner, "kept").await;
    let result = h
        .orgs
        .clone()
        .delete_organization(as_user(DeleteOrganizationRequest { organization_id: org.clone() }, &owner))
        .await;
    let status = result.expect_err("work is down");
    assert_eq!(http_status(&status), 503);
    assert_eq!(code::<()>(Err(status)), "SERVICE_UNAVAILABLE");
    // Nothing was deleted.
    let get = GetOrganizationRequest { organization_id: org.clone() };
    h.orgs.clone().get_organization(as_user(get, &owner)).await.expect("still there");
    // Usage needs the project count from work too: refused rather than guessed.
    let subscription = GetSubscriptionRequest { organization_id: org };
    assert_eq!(
        code(h.subs.clone().get_subscription(as_user(subscription, &owner)).await),
        "SERVICE_UNAVAILABLE"
    );
}
