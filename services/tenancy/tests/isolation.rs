//! Tenant isolation, malformed ids, authentication and the service-only internal API.
#![allow(deprecated)] // AddMember, kept as an alias, is checked too.

use operant_proto::tenancy::v1::*;
use operant_testkit::*;
use tonic::Request;

/// Calls every organization-scoped RPC on `org` as `user` and returns each error code by name.
async fn every_rpc(h: &Clients, user: &User, org: &str, other_user_id: &str) -> Vec<(&'static str, String)> {
    let (mut orgs, mut members, mut subs) = (h.orgs.clone(), h.members.clone(), h.subs.clone());
    let mut invitations = h.invitations.clone();
    let o = || org.to_owned();
    let u = || other_user_id.to_owned();
    vec![
        (
            "GetOrganization",
            code(orgs.get_organization(as_user(GetOrganizationRequest { organization_id: o() }, user)).await),
        ),
        (
            "UpdateOrganization",
            code(
                orgs.update_organization(as_user(
                    UpdateOrganizationRequest { organization_id: o(), name: Some("Mine".into()), slug: None },
                    user,
                ))
                .await,
            ),
        ),
        (
            "DeleteOrganization",
            code(
                orgs.delete_organization(as_user(DeleteOrganizationRequest { organization_id: o() }, user))
                    .await,
            ),
        ),
        (
            "ListMembers",
            code(
                members
                    .list_members(as_user(ListMembersRequest { organization_id: o(), page: None }, user))
                    .await,
            ),
        ),
        (
            "AddMember",
            code(
                members
                    .add_member(as_user(
                        AddMemberRequest {
                            request_id: String::new(),
                            organization_id: o(),
                            email: user.email.clone(),
                            role: Role::Member.into(),
                        },
                        user,
                    ))
                    .await,
            ),
        ),
        (
            "CreateInvitation",
            code(
                invitations
                    .create_invitation(as_user(
                        CreateInvitationRequest {
                            request_id: String::new(),
                            organization_id: o(),
                            email: user.email.clone(),
                            role: Role::Member.into(),
                        },
                        user,
                    ))
                    .await,
            ),
        ),
        (
            "ListInvitations",
            code(
                invitations
                    .list_invitations(as_user(
                        ListInvitationsRequest { organization_id: o(), ..Default::default() },
                        user,
                    ))
                    .await,
            ),
        ),
        (
            "RevokeInvitation",
            code(
                invitations
                    .revoke_invitation(as_user(
                        RevokeInvitationRequest { organization_id: o(), invitation_id: u() },
                        user,
                    ))
                    .await,
            ),
        ),
        (
            "UpdateMember",
            code(
                members
                    .update_member(as_user(
                        UpdateMemberRequest { organization_id: o(), user_id: u(), role: Role::Member.into() },
                        user,
                    ))
                    .await,
            ),
        ),
        (
            "RemoveMember",
            code(
                members
                    .remove_member(as_user(RemoveMemberRequest { organization_id: o(), user_id: u() }, user))
                    .await,
            ),
        ),
        (
            "TransferOwnership",
            code(
                members
                    .transfer_ownership(as_user(
                        TransferOwnershipRequest {
                            request_id: String::new(),
                            organization_id: o(),
                            user_id: u(),
                        },
                        user,
                    ))
                    .await,
            ),
        ),
        (
            "ListOrganizationUsers",
            code(
                members
                    .list_organization_users(in_org(ListOrganizationUsersRequest { page: None }, user, org))
                    .await,
            ),
        ),
        (
            "GetSubscription",
            code(subs.get_subscription(as_user(GetSubscriptionRequest { organization_id: o() }, user)).await),
        ),
        (
            "UpdateSubscription",
            code(
                subs.update_subscription(as_user(
                    UpdateSubscriptionRequest {
                        request_id: String::new(),
                        organization_id: o(),
                        plan: Plan::Pro.into(),
                    },
                    user,
                ))
                .await,
            ),
        ),
        (
            "ListFeatures",
            code(subs.list_features(as_user(ListFeaturesRequest { organization_id: o() }, user)).await),
        ),
        (
            "ListAuditEvents",
            code(
                subs.list_audit_events(as_user(
                    ListAuditEventsRequest { organization_id: o(), page: None },
                    user,
                ))
                .await,
            ),
        ),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_of_one_organization_gets_not_a_member_for_another() {
    let app = TestApp::spawn().await;
    let h = app.clients();
    let a = h.team("org-a").await;
    let b = h.team("org-b").await;
    let missing = uuid::Uuid::new_v4().to_string();

    // Every role of A, against B's organization (with B's user ids) and an organization that
    // does not exist: the same answer.
    for user in [&a.owner, &a.admin, &a.member] {
        for (org, target) in [(&b.org, &b.member.id), (&missing, &b.member.id)] {
            for (rpc, code) in every_rpc(&h, user, org, target).await {
                assert_eq!(code, "NOT_A_MEMBER", "{rpc} on {org}");
            }
        }
    }
    // B's user ids inside A are unknown members, not B's members.
    let mut members = h.members.clone();
    let foreign = UpdateMemberRequest {
        organization_id: a.org.clone(),
        user_id: b.member.id.clone(),
        role: Role::Admin.into(),
    };
    assert_eq!(code(members.update_member(as_user(foreign, &a.owner)).await), "MEMBER_NOT_FOUND");
    let foreign = RemoveMemberRequest { organization_id: a.org.clone(), user_id: b.owner.id.clone() };
    assert_eq!(code(members.remove_member(as_user(foreign, &a.owner)).await), "MEMBER_NOT_FOUND");

    // Nothing of B changed, and A's lists show only A.
    let roles = h.roles(&b.org, &b.owner).await;
    assert_eq!(roles.len(), 3);
    let listed =
        h.orgs.clone().list_organizations(as_user(ListOrganizationsRequest { page: None }, &a.owner)).await;
    let ids: Vec<_> = listed.expect("list").into_inner().organizations.into_iter().map(|o| o.id).collect();
    assert_eq!(ids, std::slice::from_ref(&a.org));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_ids_are_named() {
    let app = TestApp::spawn().await;
    let h = app.clients();
    let owner = h.user("owner").await;
    let org = h.org(&owner, "shapes").await;
    let (mut orgs, mut members, mut subs) = (h.orgs.clone(), h.members.clone(), h.subs.clone());
    let field = |result: (String, Vec<String>)| {
        assert_eq!(result.0, "VALIDATION_ERROR");
        result.1
    };
    for bad in ["", "123", "not-a-uuid"] {
        let o = || bad.to_owned();
        assert_eq!(
            field(violations(
                orgs.get_organization(as_user(GetOrganizationRequest { organization_id: o() }, &owner)).await
            )),
            ["organization_id"]
        );
        assert_eq!(
            field(violations(
                orgs.delete_organization(as_user(DeleteOrganizationRequest { organization_id: o() }, &owner))
                    .await
            )),
            ["organization_id"]
        );
        assert_eq!(
            field(violations(
                members
                    .list_members(as_user(ListMembersRequest { organization_id: o(), page: None }, &owner))
                    .await
            )),
            ["organization_id"]
        );
        let remove = RemoveMemberRequest { organization_id: org.clone(), user_id: o() };
        assert_eq!(field(violations(members.remove_member(as_user(remove, &owner)).await)), ["user_id"]);
        let transfer = TransferOwnershipRequest {
            request_id: String::new(),
            organization_id: org.clone(),
            user_id: o(),
        };
        assert_eq!(
            field(violations(members.transfer_ownership(as_user(transfer, &owner)).await)),
            ["user_id"]
        );
        assert_eq!(
            field(violations(
                subs.list_features(as_user(ListFeaturesRequest { organization_id: o() }, &owner)).await
            )),
            ["organization_id"]
        );
        let change = UpdateSubscriptionRequest {
            request_id: String::new(),
            organization_id: o(),
            plan: Plan::Pro.into(),
        };
        assert_eq!(
            field(violations(subs.update_subscription(as_user(change, &owner)).await)),
            ["organization_id"]
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_rpcs_need_an_access_token() {
    let app = TestApp::spawn().await;
    let h = app.clients();
    let status = h
        .orgs
        .clone()
        .list_organizations(ListOrganizationsRequest { page: None })
        .await
        .expect_err("anonymous");
    assert_eq!(http_status(&status), 401);
    assert_eq!(code::<()>(Err(status)), "TOKEN_MISSING");
    let forged =
        User { id: String::new(), email: String::new(), access: "not.a.jwt".into(), refresh: String::new() };
    let result =
        h.orgs.clone().list_organizations(as_user(ListOrganizationsRequest { page: None }, &forged)).await;
    assert_eq!(code(result), "TOKEN_MALFORMED");
    // The service token is not a user.
    let result =
        h.orgs.clone().list_organizations(h.as_service(ListOrganizationsRequest { page: None })).await;
    assert_eq!(code(result), "TOKEN_MISSING");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_internal_api_is_for_services_only_and_never_stale() {
    let app = TestApp::spawn().await;
    let h = app.clients();
    let Team { org, owner, admin, member } = h.team("internal").await;
    let outsider = h.user("outsider").await;
    let mut internal = h.tenancy_internal.clone();
    let authorize = |user: &User| AuthorizeRequest {
        user_id: user.id.clone(),
        organization_id: org.clone(),
        ..Default::default()
    };
    let check =
        |user: &User| CheckMembershipRequest { user_id: user.id.clone(), organization_id: org.clone() };

    // End users are refused, with or without a token.
    for request in [as_user(authorize(&owner), &owner), Request::new(authorize(&owner))] {
        let status = internal.authorize(request).await.expect_err("end user");
        assert_eq!(http_status(&status), 403);
        assert_eq!(code::<()>(Err(status)), "SERVICE_ONLY");
    }
    assert_eq!(code(internal.check_membership(as_user(check(&owner), &owner)).await), "SERVICE_ONLY");

    let answer = internal.authorize(h.as_service(authorize(&admin))).await.expect("authorize").into_inner();
    assert_eq!((answer.role(), answer.plan()), (Role::Admin, Plan::Free));
    assert_eq!(answer.limits, Some(Limits { max_users: 3, max_projects: 5, max_api_keys: 2 }));
    assert!(answer.features.is_empty());
    assert_eq!(code(internal.authorize(h.as_service(authorize(&outsider))).await), "NOT_A_MEMBER");
    let missing = AuthorizeRequest {
        user_id: owner.id.clone(),
        organization_id: uuid::Uuid::new_v4().to_string(),
        ..Default::default()
    };
    assert_eq!(code(internal.authorize(h.as_service(missing)).await), "NOT_A_MEMBER");
    let bad = AuthorizeRequest { user_id: "x".into(), organization_id: org.clone(), ..Default::default() };
    assert_eq!(
        violations(internal.authorize(h.as_service(bad)).await),
        ("VALIDATION_ERROR".into(), vec!["user_id".into()])
    );
    let bad = CheckMembershipRequest { user_id: owner.id.clone(), organization_id: "y".into() };
    assert_eq!(
        violations(internal.check_membership(h.as_service(bad)).await),
        ("VALIDATION_ERROR".into(), vec!["organization_id".into()])
    );

    assert!(
        internal.check_membership(h.as_service(check(&member))).await.expect("check").into_inner().member
    );
    assert!(
        !internal.check_membership(h.as_service(check(&outsider))).await.expect("check").into_inner().member
    );

    // A removed member loses access on the very next call.
    let kick = RemoveMemberRequest { organization_id: org.clone(), user_id: member.id.clone() };
    h.members.clone().remove_member(as_user(kick, &admin)).await.expect("remove");
    assert_eq!(code(internal.authorize(h.as_service(authorize(&member))).await), "NOT_A_MEMBER");
    assert!(
        !internal.check_membership(h.as_service(check(&member))).await.expect("check").into_inner().member
    );
}
