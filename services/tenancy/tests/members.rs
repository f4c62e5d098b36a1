//! MemberService through gRPC: the role × action matrix, the last-owner rules, transfer of
//! ownership, member listings, and `AddMember` as the deprecated alias that invites.
#![allow(deprecated)]

use operant_proto::tenancy::v1::*;
use operant_testkit::*;

fn add(org: &str, who: &User, role: Role) -> AddMemberRequest {
    AddMemberRequest {
        request_id: String::new(),
        organization_id: org.into(),
        email: who.email.clone(),
        role: role.into(),
    }
}

fn set_role(org: &str, who: &User, role: Role) -> UpdateMemberRequest {
    UpdateMemberRequest { organization_id: org.into(), user_id: who.id.clone(), role: role.into() }
}

fn remove(org: &str, who: &User) -> RemoveMemberRequest {
    RemoveMemberRequest { organization_id: org.into(), user_id: who.id.clone() }
}

fn transfer(org: &str, to: &User) -> TransferOwnershipRequest {
    TransferOwnershipRequest {
        request_id: String::new(),
        organization_id: org.into(),
        user_id: to.id.clone(),
    }
}

fn get(org: &str) -> GetOrganizationRequest {
    GetOrganizationRequest { organization_id: org.into() }
}

fn role_of(roles: &[(String, Role)], user: &User) -> Option<Role> {
    roles.iter().find(|(id, _)| *id == user.id).map(|(_, role)| *role)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn add_member_is_a_deprecated_alias_that_invites() {
    let app = TestApp::spawn().await;
    let h = app.clients();
    let (owner, admin, member) = (h.user("owner").await, h.user("admin").await, h.user("member").await);
    let x = h.user("x").await;
    let org = h.org_on(&owner, "adders", Plan::Pro).await;
    h.add(&org, &owner, &member, Role::Member).await;
    let mut members = h.members.clone();

    // A registered address and an unregistered one get the same answer: a pending invitation.
    let registered =
        members.add_member(as_user(add(&org, &admin, Role::Admin), &owner)).await.expect("invite");
    let registered = registered.into_inner();
    assert!(registered.member.is_none(), "nobody joins without consent");
    let registered = registered.invitation.expect("invitation");
    let nobody = AddMemberRequest {
        request_id: String::new(),
        organization_id: org.clone(),
        email: unique_email("nobody"),
        role: Role::Member.into(),
    };
    let unregistered = members.add_member(as_user(nobody, &owner)).await.expect("invite unregistered");
    let unregistered = unregistered.into_inner().invitation.expect("invitation");
    assert_eq!(registered.status(), InvitationStatus::Pending);
    assert_eq!(unregistered.status(), InvitationStatus::Pending);
    assert_eq!(registered.email, admin.email);
    assert_eq!(h.roles(&org, &owner).await.len(), 2, "the invitee is not a member yet");

    // MEMBER may not invite; nobody invites an OWNER (ownership is transferred).
    assert_eq!(
        code(members.add_member(as_user(add(&org, &x, Role::Member), &member)).await),
        "INSUFFICIENT_ROLE"
    );
    assert_eq!(
        violations(members.add_member(as_user(add(&org, &x, Role::Owner), &owner)).await),
        ("VALIDATION_ERROR".into(), vec!["role".into()])
    );
    // An existing member, and an address already invited.
    let status = members.add_member(as_user(add(&org, &member, Role::Admin), &owner)).await.expect_err("dup");
    assert_eq!((http_status(&status), code::<()>(Err(status))), (409, "ALREADY_MEMBER".to_owned()));
    let status =
        members.add_member(as_user(add(&org, &admin, Role::Admin), &owner)).await.expect_err("again");
    assert_eq!((http_status(&status), code::<()>(Err(status))), (409, "INVITATION_PENDING".to_owned()));

    let bad_email = AddMemberRequest {
        request_id: String::new(),
        organization_id: org.clone(),
        email: "not-an-email".into(),
        role: Role::Member.into(),
    };
    assert_eq!(
        violations(members.add_member(as_user(bad_email, &owner)).await),
        ("VALIDATION_ERROR".into(), vec!["email".into()])
    );
    let no_role = AddMemberRequest {
        request_id: String::new(),
        organization_id: org.clone(),
        email: x.email.clone(),
        role: 0,
    };
    assert_eq!(
        violations(members.add_member(as_user(no_role, &owner)).await),
        ("VALIDATION_ERROR".into(), vec!["role".into()])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changing_roles_follows_the_role_matrix() {
    let app = TestApp::spawn().await;
    let h = app.clients();
    let Team { org, owner, admin, member } = h.team("rolers").await;
    let mut members = h.members.clone();

    // MEMBER changes nothing, not even their own role.
    for target in [&owner, &admin, &member] {
        let result = members.update_member(as_user(set_role(&org, target, Role::Admin), &member)).await;
        assert_eq!(code(result), "INSUFFICIENT_ROLE");
    }
    // ADMIN manages members, but not owners and not the OWNER role.
    let promoted =
        members.update_member(as_user(set_role(&org, &member, Role::Admin), &admin)).await.expect("promote");
    assert_eq!(
        promoted.into_inner().member.map(|m| (m.role(), m.email)),
        Some((Role::Admin, member.email.clone()))
    );
    members.update_member(as_user(set_role(&org, &member, Role::Member), &admin)).await.expect("demote");
    assert_eq!(
        code(members.update_member(as_user(set_role(&org, &owner, Role::Admin), &admin)).await),
        "INSUFFICIENT_ROLE"
    );
    assert_eq!(
        code(members.update_member(as_user(set_role(&org, &member, Role::Owner), &admin)).await),
        "INSUFFICIENT_ROLE"
    );
    // Setting the same role is a no-op.
    members.update_member(as_user(set_role(&org, &member, Role::Member), &admin)).await.expect("same role");

    // OWNER grants and takes away OWNER; the last one cannot step down.
    let status = members
        .update_member(as_user(set_role(&org, &owner, Role::Admin), &owner))
        .await
        .expect_err("last owner");
    assert_eq!(http_status(&status), 409);
    assert_eq!(code::<()>(Err(status)), "LAST_OWNER");
    members.update_member(as_user(set_role(&org, &member, Role::Owner), &owner)).await.expect("grant owner");
    members.update_member(as_user(set_role(&org, &owner, Role::Admin), &owner)).await.expect("step down");
    let roles = h.roles(&org, &member).await;
    assert_eq!((role_of(&roles, &owner), role_of(&roles, &member)), (Some(Role::Admin), Some(Role::Owner)));
    assert_eq!(
        code(members.update_member(as_user(set_role(&org, &member, Role::Member), &member)).await),
        "LAST_OWNER"
    );

    // The former owner is an ADMIN now and is refused owner-only actions.
    let rename =
        UpdateOrganizationRequest { organization_id: org.clone(), name: Some("X".into()), slug: None };
    assert_eq!(code(h.orgs.clone().update_organization(as_user(rename, &owner)).await), "INSUFFICIENT_ROLE");

    // Unknown targets and bad input.
    let stranger = h.user("stranger").await;
    let status = members
        .update_member(as_user(set_role(&org, &stranger, Role::Admin), &member))
        .await
        .expect_err("404");
    assert_eq!(http_status(&status), 404);
    assert_eq!(code::<()>(Err(status)), "MEMBER_NOT_FOUND");
    let bad = UpdateMemberRequest {
        organization_id: org.clone(),
        user_id: "nope".into(),
        role: Role::Admin.into(),
    };
    assert_eq!(
        violations(members.update_member(as_user(bad, &member)).await),
        ("VALIDATION_ERROR".into(), vec!["user_id".into()])
    );
    let no_role = UpdateMemberRequest { organization_id: org.clone(), user_id: admin.id.clone(), role: 0 };
    assert_eq!(
        violations(members.update_member(as_user(no_role, &member)).await),
        ("VALIDATION_ERROR".into(), vec!["role".into()])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removing_and_leaving_follow_the_role_matrix() {
    let app = TestApp::spawn().await;
    let h = app.clients();
    let Team { org, owner, admin, member } = h.team("removers").await;
    let mut members = h.members.clone();

    assert_eq!(
        code(members.remove_member(as_user(remove(&org, &admin), &member)).await),
        "INSUFFICIENT_ROLE"
    );
    assert_eq!(
        code(members.remove_member(as_user(remove(&org, &owner), &member)).await),
        "INSUFFICIENT_ROLE"
    );
    assert_eq!(code(members.remove_member(as_user(remove(&org, &owner), &admin)).await), "INSUFFICIENT_ROLE");
    // The only owner can neither leave nor be removed.
    assert_eq!(code(members.remove_member(as_user(remove(&org, &owner), &owner)).await), "LAST_OWNER");

    // ADMIN removes a MEMBER, who loses access at once.
    members.remove_member(as_user(remove(&org, &member), &admin)).await.expect("admin removes member");
    assert_eq!(code(h.orgs.clone().get_organization(as_user(get(&org), &member)).await), "NOT_A_MEMBER");
    assert_eq!(code(members.remove_member(as_user(remove(&org, &admin), &member)).await), "NOT_A_MEMBER");
    assert_eq!(code(members.remove_member(as_user(remove(&org, &member), &owner)).await), "MEMBER_NOT_FOUND");

    // Anyone may leave.
    h.add(&org, &owner, &member, Role::Member).await;
    members.remove_member(as_user(remove(&org, &member), &member)).await.expect("member leaves");
    members.remove_member(as_user(remove(&org, &admin), &admin)).await.expect("admin leaves");

    // With two owners, an ADMIN still cannot remove one, an OWNER can, and the last cannot leave.
    h.add(&org, &owner, &member, Role::Owner).await;
    h.add(&org, &owner, &admin, Role::Admin).await;
    assert_eq!(
        code(members.remove_member(as_user(remove(&org, &member), &admin)).await),
        "INSUFFICIENT_ROLE"
    );
    members.remove_member(as_user(remove(&org, &owner), &member)).await.expect("owner removes owner");
    assert_eq!(code(members.remove_member(as_user(remove(&org, &member), &member)).await), "LAST_OWNER");
    let roles = h.roles(&org, &member).await;
    assert_eq!(roles.len(), 2);
    assert_eq!(role_of(&roles, &member), Some(Role::Owner));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_owners_leaving_at_once_leave_one_behind() {
    let app = TestApp::spawn().await;
    let h = app.clients();
    for round in 0..10 {
        let (a, b) = (h.user("a").await, h.user("b").await);
        let org = h.org(&a, &format!("pair-{round}")).await;
        h.add(&org, &a, &b, Role::Owner).await;
        let mut ma = h.members.clone();
        let mut mb = h.members.clone();
        let (ra, rb) = tokio::join!(
            ma.remove_member(as_user(remove(&org, &a), &a)),
            mb.update_member(as_user(set_role(&org, &b, Role::Member), &b)),
        );
        let outcomes = [ra.map(|_| ()), rb.map(|_| ())];
        assert_eq!(outcomes.iter().filter(|r| r.is_ok()).count(), 1, "round {round}: {outcomes:?}");
        let refused = outcomes.into_iter().find(|r| r.is_err()).expect("one refusal");
        assert_eq!(code(refused), "LAST_OWNER");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ownership_is_transferred_by_the_owner_only() {
    let app = TestApp::spawn().await;
    let h = app.clients();
    let Team { org, owner, admin, member } = h.team("transfer").await;
    let mut members = h.members.clone();

    assert_eq!(
        code(members.transfer_ownership(as_user(transfer(&org, &admin), &admin)).await),
        "INSUFFICIENT_ROLE"
    );
    assert_eq!(
        code(members.transfer_ownership(as_user(transfer(&org, &member), &member)).await),
        "INSUFFICIENT_ROLE"
    );
    let stranger = h.user("stranger").await;
    assert_eq!(
        code(members.transfer_ownership(as_user(transfer(&org, &stranger), &owner)).await),
        "MEMBER_NOT_FOUND"
    );
    let to_self = members.transfer_ownership(as_user(transfer(&org, &owner), &owner)).await;
    assert_eq!(violations(to_self), ("VALIDATION_ERROR".into(), vec!["user_id".into()]));

    members.transfer_ownership(as_user(transfer(&org, &member), &owner)).await.expect("transfer");
    let roles = h.roles(&org, &member).await;
    assert_eq!(role_of(&roles, &member), Some(Role::Owner));
    assert_eq!(role_of(&roles, &owner), Some(Role::Admin));
    assert_eq!(role_of(&roles, &admin), Some(Role::Admin));

    // The new owner holds the owner-only rights; the former one does not.
    let delete = DeleteOrganizationRequest { organization_id: org.clone() };
    assert_eq!(code(h.orgs.clone().delete_organization(as_user(delete, &owner)).await), "INSUFFICIENT_ROLE");
    let rename =
        UpdateOrganizationRequest { organization_id: org.clone(), name: Some("Mine".into()), slug: None };
    h.orgs.clone().update_organization(as_user(rename, &member)).await.expect("new owner renames");
    assert_eq!(code(members.remove_member(as_user(remove(&org, &member), &member)).await), "LAST_OWNER");
    assert_eq!(
        code(members.transfer_ownership(as_user(transfer(&org, &member), &owner)).await),
        "INSUFFICIENT_ROLE"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_are_listed_with_profiles_sorted_and_paged() {
    let app = TestApp::spawn().await;
    let h = app.clients();
    let Team { org, owner, admin, member } = h.team("listing").await;
    let mut members = h.members.clone();
    let list = |page| ListMembersRequest { organization_id: org.clone(), page };

    // Any member may list; default order: joined first.
    let all = members.list_members(as_user(list(None), &member)).await.expect("member lists").into_inner();
    let ids: Vec<_> = all.members.iter().map(|m| m.user_id.clone()).collect();
    assert_eq!(ids, [owner.id.clone(), admin.id.clone(), member.id.clone()]);
    assert_eq!(all.page.map(|p| (p.total, p.skip, p.limit)), Some((3, 0, 20)));
    let first = &all.members[0];
    assert_eq!(
        (first.email.as_str(), first.full_name.as_deref(), first.role()),
        (owner.email.as_str(), Some("owner user"), Role::Owner)
    );
    assert!(first.joined_at.is_some());

    let by_email =
        members.list_members(as_user(list(page(0, 0, "-email")), &member)).await.expect("by email");
    let emails: Vec<_> = by_email.into_inner().members.into_iter().map(|m| m.email).collect();
    let mut expected = vec![owner.email.clone(), admin.email.clone(), member.email.clone()];
    expected.sort();
    expected.reverse();
    assert_eq!(emails, expected);

    let by_role =
        members.list_members(as_user(list(page(1, 1, "role")), &member)).await.expect("by role").into_inner();
    assert_eq!(by_role.members.iter().map(|m| m.role()).collect::<Vec<_>>(), [Role::Admin]);
    assert_eq!(by_role.page.map(|p| (p.total, p.skip, p.limit)), Some((3, 1, 1)));

    let bad = members.list_members(as_user(list(page(0, 0, "password")), &member)).await;
    assert_eq!(violations(bad), ("VALIDATION_ERROR".into(), vec!["order_by".into()]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn organization_users_need_admin_and_the_header() {
    let app = TestApp::spawn().await;
    let h = app.clients();
    let Team { org, owner, admin, member } = h.team("users").await;
    let outsider = h.user("outsider").await;
    h.org(&outsider, "outside").await;
    let mut members = h.members.clone();
    let request = |page| ListOrganizationUsersRequest { page };

    for user in [&owner, &admin] {
        let users =
            members.list_organization_users(in_org(request(None), user, &org)).await.expect("admin+ lists");
        let users = users.into_inner();
        assert_eq!(users.members.len(), 3);
        assert_eq!(users.page.map(|p| p.total), Some(3));
    }
    let sorted =
        members.list_organization_users(in_org(request(page(0, 2, "-joined_at")), &owner, &org)).await;
    let ids: Vec<_> = sorted.expect("sorted").into_inner().members.into_iter().map(|m| m.user_id).collect();
    assert_eq!(ids, [member.id.clone(), admin.id.clone()]);

    assert_eq!(
        code(members.list_organization_users(in_org(request(None), &member, &org)).await),
        "INSUFFICIENT_ROLE"
    );
    assert_eq!(
        code(members.list_organization_users(in_org(request(None), &outsider, &org)).await),
        "NOT_A_MEMBER"
    );
    let unknown = uuid::Uuid::new_v4().to_string();
    assert_eq!(
        code(members.list_organization_users(in_org(request(None), &owner, &unknown)).await),
        "NOT_A_MEMBER"
    );

    let status =
        members.list_organization_users(as_user(request(None), &owner)).await.expect_err("no header");
    assert_eq!(http_status(&status), 400);
    assert_eq!(code::<()>(Err(status)), "ORGANIZATION_REQUIRED");
    let status = members
        .list_organization_users(in_org(request(None), &owner, "not-a-uuid"))
        .await
        .expect_err("bad header");
    assert_eq!(http_status(&status), 400);
    assert_eq!(code::<()>(Err(status)), "INVALID_ORGANIZATION_ID");
    let bad_page = members.list_organization_users(in_org(request(page(0, 0, "name")), &owner, &org)).await;
    assert_eq!(violations(bad_page), ("VALIDATION_ERROR".into(), vec!["order_by".into()]));
}
