//! InvitationService through gRPC: an address without an account is invited, registers and
//! accepts with the mailed token (member with the role, email verified); another account cannot
//! use the token; registered and unregistered addresses get identical answers; revoke, resend
//! (the old token dies), decline, expiry with a short TTL; the in-app routes need a verified
//! email; a MEMBER cannot invite; invitation ids are isolated between organizations; the audit
//! log; `MarkEmailVerified` only for services. (The seat race is in `plans.rs`.)

use std::time::Duration;

use operant_proto::auth::v1 as auth;
use operant_proto::auth::v1::auth_internal_service_client::AuthInternalServiceClient;
use operant_proto::tenancy::v1::*;
use operant_testkit::*;

fn invite(org: &str, email: &str, role: Role) -> CreateInvitationRequest {
    CreateInvitationRequest {
        request_id: String::new(),
        organization_id: org.into(),
        email: email.into(),
        role: role.into(),
    }
}

fn accept(token: &str) -> AcceptInvitationRequest {
    AcceptInvitationRequest { token: token.into() }
}

/// Registers and logs in `email` (as a user would after reading the invitation).
async fn register(h: &Clients, email: &str) -> User {
    let mut c = h.clone();
    let user = c.register(email).await;
    let tokens = c.login(email).await;
    User { id: user.id, email: user.email, access: tokens.access_token, refresh: tokens.refresh_token }
}

async fn create(h: &Clients, by: &User, org: &str, email: &str, role: Role) -> Invitation {
    let response = h.invitations.clone().create_invitation(as_user(invite(org, email, role), by)).await;
    response.expect("create invitation").into_inner().invitation.expect("invitation")
}

async fn list(h: &Clients, by: &User, org: &str, status: InvitationStatus) -> Vec<Invitation> {
    let request = ListInvitationsRequest { organization_id: org.into(), page: None, status: status.into() };
    h.invitations.clone().list_invitations(as_user(request, by)).await.expect("list").into_inner().invitations
}

/// `user` gets a verified email by accepting an invitation into a throw-away organization.
async fn verified(h: &Clients, tag: &str) -> User {
    let user = h.user(tag).await;
    let other = h.owner(&format!("{tag}-verifier")).await;
    h.add(&other.org.to_string(), &other.user, &user, Role::Member).await;
    assert!(h.clone().me(&user.access).await.expect("me").email_verified);
    user
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unregistered_address_is_invited_registers_and_accepts_with_the_mailed_token() {
    let app = TestApp::spawn().await;
    let h = app.clients();
    let owner = h.user("owner").await;
    let org = h.org_on(&owner, "welcome", Plan::Pro).await;
    let email = unique_email("newcomer");

    // Invited in mixed case; stored and mailed lower-cased.
    let invitation = create(&h, &owner, &org, &email.to_uppercase(), Role::Admin).await;
    assert_eq!(
        (invitation.status(), invitation.role(), invitation.email.as_str()),
        (InvitationStatus::Pending, Role::Admin, email.as_str())
    );
    assert_eq!(invitation.invited_by, owner.id);
    let mail = app.mailbox().wait_for(&email, 1).await;
    assert!(mail.subject.contains("Org welcome"), "{}", mail.subject);
    assert!(
        mail.text.contains("Operant") && mail.text.contains("7 days") && mail.text.contains("Org welcome")
    );
    let link = mail.link.clone().expect("link");
    assert!(link.starts_with("http://localhost:8000/accept-invitation?token="), "{link}");
    assert!(mail.html.contains(&link));
    // Only the hash is stored.
    let token = token_of(&link);
    let stored: Vec<u8> = app
        .sql()
        .await
        .query_one("SELECT token_hash FROM invitations WHERE id = $1::text::uuid", &[&invitation.id])
        .await
        .expect("row")
        .get(0);
    assert_ne!(stored, token.as_bytes());

    // No account yet: register, then accept.
    let newcomer = register(&h, &email).await;
    assert!(!h.clone().me(&newcomer.access).await.expect("me").email_verified);
    let joined =
        h.invitations.clone().accept_invitation(as_user(accept(&token), &newcomer)).await.expect("accept");
    let joined = joined.into_inner();
    assert_eq!(joined.invitation.expect("invitation").status(), InvitationStatus::Accepted);
    let member = joined.member.expect("member");
    assert_eq!((member.user_id.as_str(), member.role()), (newcomer.id.as_str(), Role::Admin));
    assert!(h.roles(&org, &owner).await.contains(&(newcomer.id.clone(), Role::Admin)));
    assert!(h.clone().me(&newcomer.access).await.expect("me").email_verified, "the token proved the mailbox");

    // Single use.
    let again = h.invitations.clone().accept_invitation(as_user(accept(&token), &newcomer)).await;
    assert_eq!(code(again), "INVITATION_NOT_PENDING");
    // Unknown token.
    let unknown =
        h.invitations.clone().accept_invitation(as_user(accept("not-a-real-token"), &newcomer)).await;
    let status = unknown.expect_err("unknown");
    assert_eq!((http_status(&status), code::<()>(Err(status))), (400, "INVALID_TOKEN".to_owned()));
    assert_eq!(
        violations(h.invitations.clone().accept_invitation(as_user(accept(" "), &newcomer)).await).1,
        ["token"]
    );

    // The audit log has the invitation's story.
    let request = ListAuditEventsRequest { organization_id: org.clone(), page: None };
    let events =
        h.subs.clone().list_audit_events(as_user(request, &owner)).await.expect("audit").into_inner().events;
    let actions: Vec<&str> = events.iter().map(|e| e.action.as_str()).collect();
    assert!(
        actions.contains(&"invitation.created") && actions.contains(&"invitation.accepted"),
        "{actions:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_account_cannot_accept_and_the_match_ignores_case() {
    let app = TestApp::spawn().await;
    let h = app.clients();
    let owner = h.user("owner").await;
    let org = h.org(&owner, "mismatch").await;
    let bob = h.user("bob").await;
    let mallory = h.user("mallory").await;
    create(&h, &owner, &org, &bob.email.to_uppercase(), Role::Member).await;
    let token = app.mailbox().token_for(&bob.email, 1).await;

    let status =
        h.invitations.clone().accept_invitation(as_user(accept(&token), &mallory)).await.expect_err("other");
    assert_eq!(
        (http_status(&status), code::<()>(Err(status))),
        (403, "INVITATION_EMAIL_MISMATCH".to_owned())
    );
    assert!(!h.clone().me(&mallory.access).await.expect("me").email_verified);
    assert_eq!(h.roles(&org, &owner).await.len(), 1);
    // Still pending: bob (registered in lower case, invited in upper case) accepts.
    h.invitations.clone().accept_invitation(as_user(accept(&token), &bob)).await.expect("bob accepts");
    assert!(h.roles(&org, &owner).await.contains(&(bob.id.clone(), Role::Member)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registered_and_unregistered_addresses_get_identical_answers() {
    let app = TestApp::spawn().await;
    let h = app.clients();
    let owner = h.user("owner").await;
    let org = h.org(&owner, "same").await;
    let registered = h.user("known").await;
    let a = create(&h, &owner, &org, &registered.email, Role::Member).await;
    let b = create(&h, &owner, &org, &unique_email("unknown"), Role::Member).await;
    let shape = |i: &Invitation| {
        (i.status(), i.role(), i.organization_id.clone(), i.invited_by.clone(), i.organization_name.clone())
    };
    assert_eq!(shape(&a), shape(&b));
    let ttl =
        |i: &Invitation| i.expires_at.expect("expires").seconds - i.created_at.expect("created").seconds;
    assert_eq!((ttl(&a), ttl(&b)), (604_800, 604_800));
    // Both are mailed.
    app.mailbox().wait_for(&registered.email, 1).await;
    app.mailbox().wait_for(&b.email, 1).await;
    // The same refusal for a second invitation either way.
    for email in [&registered.email, &b.email] {
        let again =
            h.invitations.clone().create_invitation(as_user(invite(&org, email, Role::Admin), &owner)).await;
        assert_eq!(code(again), "INVITATION_PENDING");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoking_and_resending() {
    let app = TestApp::spawn().await;
    let h = app.clients();
    let owner = h.user("owner").await;
    let org = h.org(&owner, "revoke").await;
    let (carol, dave) = (h.user("carol").await, h.user("dave").await);
    let mut inv = h.invitations.clone();

    // Revoke: the token stops working and the seat is free again.
    let first = create(&h, &owner, &org, &carol.email, Role::Member).await;
    let token = app.mailbox().token_for(&carol.email, 1).await;
    let revoke =
        |id: &str| RevokeInvitationRequest { organization_id: org.clone(), invitation_id: id.into() };
    inv.revoke_invitation(as_user(revoke(&first.id), &owner)).await.expect("revoke");
    let status = inv.accept_invitation(as_user(accept(&token), &carol)).await.expect_err("revoked");
    assert_eq!((http_status(&status), code::<()>(Err(status))), (410, "INVITATION_NOT_PENDING".to_owned()));
    assert_eq!(
        code(inv.revoke_invitation(as_user(revoke(&first.id), &owner)).await),
        "INVITATION_NOT_PENDING"
    );
    assert_eq!(list(&h, &owner, &org, InvitationStatus::Revoked).await.len(), 1);
    assert!(list(&h, &owner, &org, InvitationStatus::Pending).await.is_empty());

    // Resend: a new token, a new expiry, the old token dead.
    let second = create(&h, &owner, &org, &dave.email, Role::Admin).await;
    let old = app.mailbox().token_for(&dave.email, 1).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let resend = ResendInvitationRequest { organization_id: org.clone(), invitation_id: second.id.clone() };
    let resent = inv
        .resend_invitation(as_user(resend, &owner))
        .await
        .expect("resend")
        .into_inner()
        .invitation
        .expect("invitation");
    assert!(resent.expires_at.expect("expiry").seconds > second.expires_at.expect("expiry").seconds);
    let new = app.mailbox().token_for(&dave.email, 2).await;
    assert_ne!(new, old);
    assert_eq!(code(inv.accept_invitation(as_user(accept(&old), &dave)).await), "INVALID_TOKEN");
    inv.accept_invitation(as_user(accept(&new), &dave)).await.expect("the new token works");
    let resend = ResendInvitationRequest { organization_id: org.clone(), invitation_id: second.id.clone() };
    assert_eq!(code(inv.resend_invitation(as_user(resend, &owner)).await), "INVITATION_NOT_PENDING");
    assert!(h.roles(&org, &owner).await.contains(&(dave.id.clone(), Role::Admin)));

    // ALREADY_MEMBER once joined, and the audit trail (PRO has the audit log).
    assert_eq!(
        code(inv.create_invitation(as_user(invite(&org, &dave.email, Role::Member), &owner)).await),
        "ALREADY_MEMBER"
    );
    h.set_plan(&org, &owner, Plan::Pro).await;
    let request = ListAuditEventsRequest { organization_id: org.clone(), page: None };
    let events =
        h.subs.clone().list_audit_events(as_user(request, &owner)).await.expect("audit").into_inner().events;
    let actions: Vec<&str> = events.iter().map(|e| e.action.as_str()).collect();
    for action in ["invitation.created", "invitation.revoked", "invitation.resent", "invitation.accepted"] {
        assert!(actions.contains(&action), "{action} missing from {actions:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn declining_in_the_app_frees_the_seat() {
    let app = TestApp::spawn().await;
    let h = app.clients();
    let owner = h.user("owner").await;
    let org = h.org_on(&owner, "decline", Plan::Pro).await;
    let erin = verified(&h, "erin").await;
    let invitation = create(&h, &owner, &org, &erin.email, Role::Member).await;
    let mut inv = h.invitations.clone();

    let mine =
        inv.list_my_invitations(as_user(ListMyInvitationsRequest { page: None }, &erin)).await.expect("mine");
    let mine = mine.into_inner().invitations;
    assert_eq!(mine.len(), 1);
    assert_eq!(
        (mine[0].id.as_str(), mine[0].organization_name.as_str()),
        (invitation.id.as_str(), "Org decline")
    );
    let decline = DeclineMyInvitationRequest { invitation_id: invitation.id.clone() };
    let declined = inv.decline_my_invitation(as_user(decline, &erin)).await.expect("decline").into_inner();
    assert_eq!(declined.invitation.expect("invitation").status(), InvitationStatus::Declined);
    let mine =
        inv.list_my_invitations(as_user(ListMyInvitationsRequest { page: None }, &erin)).await.expect("mine");
    assert!(mine.into_inner().invitations.is_empty());
    let token = app.mailbox().token_for(&erin.email, 2).await;
    assert_eq!(code(inv.accept_invitation(as_user(accept(&token), &erin)).await), "INVITATION_NOT_PENDING");
    let again = AcceptMyInvitationRequest { invitation_id: invitation.id.clone() };
    assert_eq!(code(inv.accept_my_invitation(as_user(again, &erin)).await), "INVITATION_NOT_PENDING");
    assert_eq!(list(&h, &owner, &org, InvitationStatus::Declined).await.len(), 1);

    // Accepting in the app by id.
    let second = create(&h, &owner, &org, &erin.email, Role::Admin).await;
    let request = AcceptMyInvitationRequest { invitation_id: second.id.clone() };
    let joined = inv.accept_my_invitation(as_user(request, &erin)).await.expect("accept").into_inner();
    assert_eq!(joined.member.expect("member").role(), Role::Admin);
    let request = ListAuditEventsRequest { organization_id: org.clone(), page: None };
    let events =
        h.subs.clone().list_audit_events(as_user(request, &owner)).await.expect("audit").into_inner().events;
    assert!(events.iter().any(|e| e.action == "invitation.declined"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_in_app_routes_refuse_an_unverified_email() {
    let app = TestApp::spawn().await;
    let h = app.clients();
    let owner = h.user("owner").await;
    let org = h.org(&owner, "unverified").await;
    // Someone registered the invitee's address without owning the mailbox.
    let squatter = h.user("squatter").await;
    let invitation = create(&h, &owner, &org, &squatter.email, Role::Member).await;
    let mut inv = h.invitations.clone();
    let status = inv
        .list_my_invitations(as_user(ListMyInvitationsRequest { page: None }, &squatter))
        .await
        .expect_err("list");
    assert_eq!((http_status(&status), code::<()>(Err(status))), (403, "EMAIL_NOT_VERIFIED".to_owned()));
    let request = AcceptMyInvitationRequest { invitation_id: invitation.id.clone() };
    assert_eq!(code(inv.accept_my_invitation(as_user(request, &squatter)).await), "EMAIL_NOT_VERIFIED");
    let request = DeclineMyInvitationRequest { invitation_id: invitation.id.clone() };
    assert_eq!(code(inv.decline_my_invitation(as_user(request, &squatter)).await), "EMAIL_NOT_VERIFIED");
    assert_eq!(h.roles(&org, &owner).await.len(), 1);
    assert_eq!(list(&h, &owner, &org, InvitationStatus::Pending).await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invitations_expire_and_free_their_seat() {
    let app = TestApp::spawn_with(|s| s.invitation_ttl = Duration::from_secs(2)).await;
    let h = app.clients();
    let owner = h.user("owner").await;
    let org = h.org(&owner, "expiry").await;
    let frank = h.user("frank").await;
    let (a, b) = (unique_email("a"), unique_email("b"));
    create(&h, &owner, &org, &frank.email, Role::Member).await;
    create(&h, &owner, &org, &a, Role::Member).await;
    // FREE: the owner and two pending invitations fill the three seats.
    assert_eq!(
        code(h.invitations.clone().create_invitation(as_user(invite(&org, &b, Role::Member), &owner)).await),
        "PLAN_LIMIT_REACHED"
    );
    let mail = app.mailbox().wait_for(&frank.email, 1).await;
    assert!(mail.text.contains("2 seconds"), "{}", mail.text);
    let token = token_of(mail.link.as_deref().unwrap_or_default());
    tokio::time::sleep(Duration::from_millis(2500)).await;

    let status =
        h.invitations.clone().accept_invitation(as_user(accept(&token), &frank)).await.expect_err("expired");
    assert_eq!((http_status(&status), code::<()>(Err(status))), (410, "INVITATION_EXPIRED".to_owned()));
    assert_eq!(list(&h, &owner, &org, InvitationStatus::Expired).await.len(), 2);
    assert!(list(&h, &owner, &org, InvitationStatus::Pending).await.is_empty());
    // Expired invitations hold no seat, nor block a new invitation of the same address.
    create(&h, &owner, &org, &b, Role::Member).await;
    create(&h, &owner, &org, &a, Role::Member).await;
    assert_eq!(list(&h, &owner, &org, InvitationStatus::Pending).await.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_cannot_invite_list_revoke_or_resend() {
    let app = TestApp::spawn().await;
    let h = app.clients();
    let Team { org, owner, admin, member } = h.team("roles").await;
    let mut inv = h.invitations.clone();
    let email = unique_email("guest");
    let status = inv
        .create_invitation(as_user(invite(&org, &email, Role::Member), &member))
        .await
        .expect_err("member");
    assert_eq!((http_status(&status), code::<()>(Err(status))), (403, "INSUFFICIENT_ROLE".to_owned()));
    let request = ListInvitationsRequest { organization_id: org.clone(), ..Default::default() };
    assert_eq!(code(inv.list_invitations(as_user(request, &member)).await), "INSUFFICIENT_ROLE");
    // FREE is full with the team; the owner moves to PRO so the admin can invite.
    h.set_plan(&org, &owner, Plan::Pro).await;
    let invitation = create(&h, &admin, &org, &email, Role::Admin).await;
    let revoke =
        RevokeInvitationRequest { organization_id: org.clone(), invitation_id: invitation.id.clone() };
    assert_eq!(code(inv.revoke_invitation(as_user(revoke.clone(), &member)).await), "INSUFFICIENT_ROLE");
    let resend =
        ResendInvitationRequest { organization_id: org.clone(), invitation_id: invitation.id.clone() };
    assert_eq!(code(inv.resend_invitation(as_user(resend, &member)).await), "INSUFFICIENT_ROLE");
    // OWNER is never invited.
    let owner_role =
        inv.create_invitation(as_user(invite(&org, &unique_email("boss"), Role::Owner), &owner)).await;
    assert_eq!(violations(owner_role), ("VALIDATION_ERROR".into(), vec!["role".into()]));
    assert_eq!(
        violations(inv.create_invitation(as_user(invite(&org, "nope", Role::Member), &owner)).await).1,
        ["email"]
    );
    inv.revoke_invitation(as_user(revoke, &admin)).await.expect("an admin revokes");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invitation_ids_are_isolated_between_organizations() {
    let app = TestApp::spawn().await;
    let h = app.clients();
    let (alice, bob) = (h.owner("alice").await, h.owner("bob").await);
    let guest = verified(&h, "guest").await;
    let outsider = verified(&h, "outsider").await;
    let invitation = create(&h, &alice.user, &alice.org.to_string(), &guest.email, Role::Member).await;
    let mut inv = h.invitations.clone();
    let theirs = bob.org.to_string();

    // Bob, an owner elsewhere, cannot touch Alice's invitation through his organization.
    let revoke =
        RevokeInvitationRequest { organization_id: theirs.clone(), invitation_id: invitation.id.clone() };
    let status = inv.revoke_invitation(as_user(revoke, &bob.user)).await.expect_err("isolated");
    assert_eq!((http_status(&status), code::<()>(Err(status))), (404, "INVITATION_NOT_FOUND".to_owned()));
    let resend =
        ResendInvitationRequest { organization_id: theirs.clone(), invitation_id: invitation.id.clone() };
    assert_eq!(code(inv.resend_invitation(as_user(resend, &bob.user)).await), "INVITATION_NOT_FOUND");
    assert!(list(&h, &bob.user, &theirs, InvitationStatus::Unspecified).await.is_empty());
    // Nor through Alice's, where he is no member.
    let revoke = RevokeInvitationRequest {
        organization_id: alice.org.to_string(),
        invitation_id: invitation.id.clone(),
    };
    assert_eq!(code(inv.revoke_invitation(as_user(revoke, &bob.user)).await), "NOT_A_MEMBER");
    // Someone else's invitation id is unknown to a verified outsider.
    let request = AcceptMyInvitationRequest { invitation_id: invitation.id.clone() };
    assert_eq!(code(inv.accept_my_invitation(as_user(request, &outsider)).await), "INVITATION_NOT_FOUND");
    let request = DeclineMyInvitationRequest { invitation_id: invitation.id.clone() };
    assert_eq!(code(inv.decline_my_invitation(as_user(request, &outsider)).await), "INVITATION_NOT_FOUND");
    assert_eq!(list(&h, &alice.user, &alice.org.to_string(), InvitationStatus::Pending).await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn marking_an_email_verified_is_for_services_only() {
    let app = TestApp::spawn().await;
    let h = app.clients();
    let user = h.user("svc").await;
    let request = || auth::MarkEmailVerifiedRequest { user_id: user.id.clone(), email: user.email.clone() };
    let mut bare = AuthInternalServiceClient::new(lazy_channel(app.auth_addr));
    assert_eq!(code(bare.mark_email_verified(as_user(request(), &user)).await), "SERVICE_ONLY");
    assert!(!h.clone().me(&user.access).await.expect("me").email_verified);
    let wrong = auth::MarkEmailVerifiedRequest { user_id: user.id.clone(), email: unique_email("other") };
    assert_eq!(code(h.auth_internal.clone().mark_email_verified(wrong).await), "USER_NOT_FOUND");
    h.auth_internal.clone().mark_email_verified(request()).await.expect("with the service token");
    assert!(h.clone().me(&user.access).await.expect("me").email_verified);
}
