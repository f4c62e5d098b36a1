//! SubscriptionService through gRPC: the race-safe member limit (pending invitations hold seats), plan changes and the downgrade
//! refusal, feature flags and the audit log.

use operant_proto::tenancy::v1::*;
use operant_testkit::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_parallel_invitations_fill_exactly_the_two_free_seats() {
    let app = TestApp::spawn().await;
    let h = app.clients();
    let owner = h.user("owner").await;
    let org = h.org(&owner, "race").await;
    let emails: Vec<String> = (0..10).map(|i| unique_email(&format!("cand{i}"))).collect();
    // FREE: 3 seats, the owner holds one; pending invitations hold the others.
    let attempts = emails.iter().map(|email| {
        let mut invitations = h.invitations.clone();
        let request = CreateInvitationRequest {
            request_id: String::new(),
            organization_id: org.clone(),
            email: email.clone(),
            role: Role::Member.into(),
        };
        let request = as_user(request, &owner);
        async move { invitations.create_invitation(request).await }
    });
    let results = futures::future::join_all(attempts).await;
    let successes = results.iter().filter(|r| r.is_ok()).count();
    let mut refusals = Vec::new();
    for result in results.into_iter().filter(|r| r.is_err()) {
        let status = result.expect_err("refused");
        assert_eq!(http_status(&status), 403);
        refusals.push(code::<()>(Err(status)));
    }
    assert_eq!(successes, 2);
    assert_eq!(refusals, vec!["PLAN_LIMIT_REACHED".to_owned(); 8]);
    let pending = h
        .invitations
        .clone()
        .list_invitations(as_user(
            ListInvitationsRequest { organization_id: org.clone(), ..Default::default() },
            &owner,
        ))
        .await
        .expect("list")
        .into_inner();
    assert_eq!(pending.page.expect("page").total, 2);
    // A member added now finds no seat either: the pending invitations hold them.
    let late = h.user("late").await;
    let request = CreateInvitationRequest {
        request_id: String::new(),
        organization_id: org.clone(),
        email: late.email,
        role: Role::Member.into(),
    };
    assert_eq!(
        code(h.invitations.clone().create_invitation(as_user(request, &owner)).await),
        "PLAN_LIMIT_REACHED"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_owner_changes_the_plan_and_downgrades_must_fit() {
    let app = TestApp::spawn().await;
    let h = app.clients();
    let Team { org, owner, admin, member } = h.team("plans").await;
    let mut subs = h.subs.clone();
    let change = |plan: Plan| UpdateSubscriptionRequest {
        request_id: String::new(),
        organization_id: org.clone(),
        plan: plan.into(),
    };

    for user in [&admin, &member] {
        assert_eq!(
            code(subs.update_subscription(as_user(change(Plan::Pro), user)).await),
            "INSUFFICIENT_ROLE"
        );
    }
    let bad = subs
        .update_subscription(as_user(
            UpdateSubscriptionRequest { request_id: String::new(), organization_id: org.clone(), plan: 0 },
            &owner,
        ))
        .await;
    assert_eq!(violations(bad), ("VALIDATION_ERROR".into(), vec!["plan".into()]));

    let pro = subs.update_subscription(as_user(change(Plan::Pro), &owner)).await.expect("upgrade");
    let pro = pro.into_inner().subscription.expect("subscription");
    assert_eq!(pro.plan(), Plan::Pro);
    assert_eq!(pro.limits, Some(Limits { max_users: 50, max_projects: 100, max_api_keys: 100 }));
    assert_eq!(pro.usage.map(|u| u.users), Some(3));
    assert_eq!(pro.features, ["audit_log", "webhooks"]);

    // A fourth member fits on PRO, and then FREE no longer does.
    let fourth = h.user("fourth").await;
    h.add(&org, &owner, &fourth, Role::Member).await;
    let status = subs.update_subscription(as_user(change(Plan::Free), &owner)).await.expect_err("downgrade");
    assert_eq!(http_status(&status), 409);
    assert_eq!(violations::<()>(Err(status)), ("PLAN_LIMIT_EXCEEDED".into(), vec!["users".into()]));
    let current = subs
        .get_subscription(as_user(GetSubscriptionRequest { organization_id: org.clone() }, &member))
        .await;
    assert_eq!(current.expect("get").into_inner().subscription.map(|s| s.plan()), Some(Plan::Pro));

    h.members
        .clone()
        .remove_member(as_user(
            RemoveMemberRequest { organization_id: org.clone(), user_id: fourth.id.clone() },
            &admin,
        ))
        .await
        .expect("make room");
    let free = subs.update_subscription(as_user(change(Plan::Free), &owner)).await.expect("downgrade fits");
    let free = free.into_inner().subscription.expect("subscription");
    assert_eq!(
        (free.plan(), free.limits),
        (Plan::Free, Some(Limits { max_users: 3, max_projects: 5, max_api_keys: 2 }))
    );
    assert!(free.features.is_empty());
    // The same plan again changes nothing.
    subs.update_subscription(as_user(change(Plan::Free), &owner)).await.expect("no-op");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn features_follow_the_plan_and_gate_the_audit_log() {
    let app = TestApp::spawn().await;
    let h = app.clients();
    let Team { org, owner, admin, member } = h.team("audited").await;
    let mut subs = h.subs.clone();
    let features = |user: &User| {
        let mut subs = h.subs.clone();
        let request = as_user(ListFeaturesRequest { organization_id: org.clone() }, user);
        async move { subs.list_features(request).await.expect("features").into_inner().features }
    };
    let audit = |page| ListAuditEventsRequest { organization_id: org.clone(), page };

    let feature = |name: &str, enabled| Feature { name: name.into(), enabled };
    assert_eq!(features(&member).await, [feature("audit_log", false), feature("webhooks", false)]);
    let status = subs.list_audit_events(as_user(audit(None), &owner)).await.expect_err("FREE");
    assert_eq!(http_status(&status), 403);
    assert_eq!(code::<()>(Err(status)), "FEATURE_NOT_IN_PLAN");
    assert_eq!(code(subs.list_audit_events(as_user(audit(None), &member)).await), "INSUFFICIENT_ROLE");

    h.set_plan(&org, &owner, Plan::Pro).await;
    assert_eq!(features(&member).await, [feature("audit_log", true), feature("webhooks", true)]);
    assert_eq!(code(subs.list_audit_events(as_user(audit(None), &member)).await), "INSUFFICIENT_ROLE");

    // Every kind of change is logged.
    let mut orgs = h.orgs.clone();
    let mut members = h.members.clone();
    let rename = UpdateOrganizationRequest {
        organization_id: org.clone(),
        name: Some("Audited Inc".into()),
        slug: None,
    };
    orgs.update_organization(as_user(rename, &owner)).await.expect("rename");
    let promote = UpdateMemberRequest {
        organization_id: org.clone(),
        user_id: member.id.clone(),
        role: Role::Admin.into(),
    };
    members.update_member(as_user(promote, &owner)).await.expect("promote");
    let kick = RemoveMemberRequest { organization_id: org.clone(), user_id: member.id.clone() };
    members.remove_member(as_user(kick, &admin)).await.expect("remove");
    let transfer = TransferOwnershipRequest {
        request_id: String::new(),
        organization_id: org.clone(),
        user_id: admin.id.clone(),
    };
    members.transfer_ownership(as_user(transfer, &owner)).await.expect("transfer");

    let log = subs.list_audit_events(as_user(audit(None), &admin)).await.expect("audit log").into_inner();
    let actions: Vec<_> = log.events.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "ownership.transferred",
            "member.removed",
            "member.role_changed",
            "org.updated",
            "plan.changed",
            "invitation.accepted",
            "invitation.created",
            "invitation.accepted",
            "invitation.created",
        ]
    );
    assert_eq!(log.page.map(|p| (p.total, p.skip, p.limit)), Some((9, 0, 20)));
    let transferred = &log.events[0];
    assert_eq!(
        (transferred.actor_id.as_str(), transferred.target_type.as_str()),
        (owner.id.as_str(), "user")
    );
    assert_eq!(transferred.target_id, admin.id);
    let removed: serde_json::Value = serde_json::from_str(&log.events[1].details_json).expect("json details");
    assert_eq!(removed["role"], "ADMIN");
    assert_eq!(log.events[1].actor_id, admin.id);
    let changed: serde_json::Value = serde_json::from_str(&log.events[2].details_json).expect("json details");
    assert_eq!((changed["from"].as_str(), changed["to"].as_str()), (Some("MEMBER"), Some("ADMIN")));
    let renamed: serde_json::Value = serde_json::from_str(&log.events[3].details_json).expect("json details");
    assert_eq!(renamed["name"]["to"], "Audited Inc");
    let plan: serde_json::Value = serde_json::from_str(&log.events[4].details_json).expect("json details");
    assert_eq!((plan["from"].as_str(), plan["to"].as_str()), (Some("FREE"), Some("PRO")));
    assert!(log.events.iter().all(|e| e.created_at.is_some() && !e.id.is_empty()));

    let second =
        subs.list_audit_events(as_user(audit(page(5, 5, "-created_at")), &owner)).await.expect("page 2");
    let second = second.into_inner();
    assert_eq!(
        second.events.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(),
        ["invitation.accepted", "invitation.created", "invitation.accepted", "invitation.created"]
    );
    assert_eq!(second.page.map(|p| (p.total, p.skip, p.limit)), Some((9, 5, 5)));
    let oldest_first = subs.list_audit_events(as_user(audit(page(0, 0, "created_at")), &owner)).await;
    assert_eq!(violations(oldest_first), ("VALIDATION_ERROR".into(), vec!["order_by".into()]));

    // Back on FREE the log is closed again (`admin` owns the organization since the transfer).
    h.set_plan(&org, &admin, Plan::Free).await;
    assert_eq!(code(subs.list_audit_events(as_user(audit(None), &admin)).await), "FEATURE_NOT_IN_PLAN");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_counts_projects_from_work_and_downgrades_name_every_limit() {
    use operant_proto::work::v1::project_service_client::ProjectServiceClient;
    use operant_proto::work::v1::work_internal_service_client::WorkInternalServiceClient;
    use operant_proto::work::v1::{CreateProjectRequest, GetOrganizationUsageRequest};

    let app = TestApp::spawn().await;
    let h = app.clients();
    let Team { org, owner, admin, member } = h.team("busy").await;
    h.set_plan(&org, &owner, Plan::Pro).await;
    let fourth = h.user("fourth").await;
    h.add(&org, &admin, &fourth, Role::Member).await;
    let work = app.channel(app.work_addr).await;
    let mut projects = ProjectServiceClient::new(work.clone());
    for i in 0..6 {
        let request = CreateProjectRequest {
            request_id: String::new(),
            name: format!("Project {i}"),
            description: None,
        };
        projects.create_project(in_org(request, &member, &org)).await.expect("create project");
    }

    let mut subs = h.subs.clone();
    let usage = subs
        .get_subscription(as_user(GetSubscriptionRequest { organization_id: org.clone() }, &member))
        .await;
    let usage = usage.expect("subscription").into_inner().subscription.and_then(|s| s.usage);
    assert_eq!(usage, Some(Usage { users: 4, projects: 6, api_keys: 0 }));

    let downgrade = UpdateSubscriptionRequest {
        request_id: String::new(),
        organization_id: org.clone(),
        plan: Plan::Free.into(),
    };
    let result = subs.update_subscription(as_user(downgrade, &owner)).await;
    assert_eq!(violations(result), ("PLAN_LIMIT_EXCEEDED".into(), vec!["users".into(), "projects".into()]));

    // Deleting the organization purges its projects in the work service.
    let delete = DeleteOrganizationRequest { organization_id: org.clone() };
    h.orgs.clone().delete_organization(as_user(delete, &owner)).await.expect("delete");
    let mut internal = WorkInternalServiceClient::new(work);
    let left = internal
        .get_organization_usage(h.as_service(GetOrganizationUsageRequest { organization_id: org.clone() }))
        .await
        .expect("usage");
    assert_eq!(left.into_inner().projects, 0);
}
