//! The tenancy service's events: `organization.*`, `member.*`, `invitation.*`, `api_key.*` and
//! `subscription.changed`, each written to `tenancy_event_outbox` in the transaction of its
//! change and relayed to the events service, exactly once per change, with the resource after
//! the change, the changed fields and the actor, and never a secret; refused changes record
//! nothing; events wait in the outbox while the events service is down and survive a tenancy
//! killed right after the commit; `organization.deleted` outlives its organization; each
//! organization's feed holds only its own events.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use operant_proto::events::v1::{Event, ListEventsRequest};
use operant_proto::tenancy::v1::*;
use operant_testkit::*;
use serde_json::{Value, json};

fn data(e: &Event) -> Value {
    Value::Object(operant_proto::json::from_struct(e.data.as_ref().unwrap()))
}

fn types(events: &[Event]) -> Vec<&str> {
    events.iter().map(|e| e.r#type.as_str()).collect()
}

/// Every event of the organization in the feed, read page by page.
async fn feed(c: &Clients, owner: &Actor) -> Vec<Event> {
    let mut all = Vec::new();
    let mut after = String::new();
    loop {
        let request = ListEventsRequest { after: after.clone(), types: vec![], limit: 100 };
        let page = c.events.clone().list_events(owner.req(request)).await.unwrap().into_inner();
        all.extend(page.events);
        after = page.next_cursor;
        if !page.has_more {
            return all;
        }
    }
}

/// The feed once it holds `n` events (or what it holds after 10 s).
async fn feed_of(c: &Clients, owner: &Actor, n: usize) -> Vec<Event> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let events = feed(c, owner).await;
        if events.len() >= n || tokio::time::Instant::now() > deadline {
            return events;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn outbox_types(app: &TestApp) -> Vec<String> {
    let rows = app
        .sql()
        .await
        .query("SELECT type FROM tenancy_event_outbox ORDER BY occurred_at, id", &[])
        .await
        .unwrap();
    rows.iter().map(|r| r.get(0)).collect()
}

fn actor_of(e: &Event) -> (String, String) {
    let actor = e.actor.clone().unwrap();
    (actor.r#type, actor.id)
}

fn user_actor(user: &User) -> (String, String) {
    ("USER".into(), user.id.clone())
}

async fn invite(c: &Clients, org: &str, by: &User, email: &str) -> Invitation {
    let request = CreateInvitationRequest {
        request_id: String::new(),
        organization_id: org.into(),
        email: email.into(),
        role: Role::Member.into(),
    };
    let answer = c.invitations.clone().create_invitation(as_user(request, by)).await.unwrap();
    answer.into_inner().invitation.unwrap()
}

/// `tag` as a user whose email is verified (by joining a throw-away organization).
async fn verified(c: &Clients, tag: &str) -> User {
    let user = c.user(tag).await;
    let other = c.owner(&format!("{tag}-verifier")).await;
    c.add(&other.org.to_string(), &other.user, &user, Role::Member).await;
    user
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_tenancy_change_produces_its_event_once() {
    let app = TestApp::spawn().await;
    let c = app.clients();
    let dave = verified(&c, "dave").await;
    let owner = c.owner("owner").await;
    let org = owner.org.to_string();
    let mut orgs = c.orgs.clone();
    let mut members = c.members.clone();
    let mut invitations = c.invitations.clone();

    c.upgrade(&owner).await;
    // The same plan again changes nothing.
    c.set_plan(&org, &owner.user, Plan::Pro).await;
    let rename = |name: &str, slug: Option<&str>| UpdateOrganizationRequest {
        organization_id: org.clone(),
        name: Some(name.into()),
        slug: slug.map(str::to_owned),
    };
    orgs.update_organization(as_user(rename("Renamed", Some("renamed-org")), &owner.user)).await.unwrap();
    orgs.update_organization(as_user(rename("Renamed", None), &owner.user)).await.unwrap();

    // bob joins with the mailed token and becomes ADMIN.
    let bob = c.user("bob").await;
    let token = c.invite(&org, &owner.user, &bob.email, Role::Member).await;
    c.invitations
        .clone()
        .accept_invitation(as_user(AcceptInvitationRequest { token: token.clone() }, &bob))
        .await
        .unwrap();
    let to_admin = UpdateMemberRequest {
        organization_id: org.clone(),
        user_id: bob.id.clone(),
        role: Role::Admin.into(),
    };
    members.update_member(as_user(to_admin.clone(), &owner.user)).await.unwrap();
    members.update_member(as_user(to_admin, &owner.user)).await.unwrap();

    // carol's invitation is resent, then revoked; dave declines his.
    let carol = invite(&c, &org, &owner.user, &unique_email("carol")).await;
    let by_id = |id: &str| ResendInvitationRequest { organization_id: org.clone(), invitation_id: id.into() };
    invitations.resend_invitation(as_user(by_id(&carol.id), &owner.user)).await.unwrap();
    let revoke = RevokeInvitationRequest { organization_id: org.clone(), invitation_id: carol.id.clone() };
    invitations.revoke_invitation(as_user(revoke, &owner.user)).await.unwrap();
    let dave_invitation = invite(&c, &org, &owner.user, &dave.email).await;
    let decline = DeclineMyInvitationRequest { invitation_id: dave_invitation.id.clone() };
    invitations.decline_my_invitation(as_user(decline, &dave)).await.unwrap();

    // A key, made and revoked; then ownership passes to bob, and bob removes the old owner's
    // new member eve, who had joined.
    let key = c.api_key(&org, &owner.user, Role::Member).await;
    let revoke = RevokeApiKeyRequest { organization_id: org.clone(), api_key_id: key.id.clone() };
    c.api_keys.clone().revoke_api_key(as_user(revoke, &owner.user)).await.unwrap();
    let transfer = TransferOwnershipRequest {
        request_id: String::new(),
        organization_id: org.clone(),
        user_id: bob.id.clone(),
    };
    members.transfer_ownership(as_user(transfer, &owner.user)).await.unwrap();
    let eve = c.user("eve").await;
    c.add(&org, &bob, &eve, Role::Member).await;
    let remove = RemoveMemberRequest { organization_id: org.clone(), user_id: eve.id.clone() };
    members.remove_member(as_user(remove, &bob)).await.unwrap();

    let expected = [
        "organization.created",
        "member.added",
        "subscription.changed",
        "organization.updated",
        "invitation.created",
        "invitation.accepted",
        "member.added",
        "member.role_changed",
        "invitation.created",
        "invitation.resent",
        "invitation.revoked",
        "invitation.created",
        "invitation.declined",
        "api_key.created",
        "api_key.revoked",
        "member.role_changed",
        "member.role_changed",
        "invitation.created",
        "invitation.accepted",
        "member.added",
        "member.removed",
    ];
    let events = feed_of(&c, &owner, expected.len()).await;
    assert_eq!(types(&events), expected);
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(feed(&c, &owner).await.len(), expected.len(), "nothing more arrives");
    assert!(outbox_types(&app).await.is_empty(), "the relay deleted what the feed accepted");
    let mut ids: Vec<&str> = events.iter().map(|e| e.id.as_str()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), expected.len(), "one id each");
    assert!(events.iter().all(|e| e.organization_id == org));
    assert!(events.iter().all(|e| uuid::Uuid::parse_str(&e.id).unwrap().get_version_num() == 7));

    // Creation: the organization (FREE) and its creator, OWNER.
    let created = data(&events[0]);
    assert_eq!(created["id"], org.as_str());
    assert!(created["slug"].as_str().unwrap().starts_with("org-"));
    assert_eq!(created["plan"], "FREE");
    assert_eq!(actor_of(&events[0]), user_actor(&owner.user));
    assert_eq!(data(&events[1])["user_id"], owner.user.id.as_str());
    assert_eq!(data(&events[1])["role"], "OWNER");
    let subscription = data(&events[2]);
    assert_eq!(subscription["plan"], "PRO");
    assert_eq!(subscription["limits"]["max_users"], 50);
    assert_eq!(events[2].changed_fields, ["plan"]);
    let updated = data(&events[3]);
    assert_eq!(
        (updated["name"].clone(), updated["slug"].clone(), updated["plan"].clone()),
        (json!("Renamed"), json!("renamed-org"), json!("PRO"))
    );
    assert_eq!(events[3].changed_fields, ["name", "slug"]);

    // bob: invited by the owner, accepted by bob himself, made ADMIN by the owner.
    assert_eq!(data(&events[4])["email"], bob.email.as_str());
    assert_eq!(data(&events[4])["status"], "PENDING");
    assert_eq!(actor_of(&events[4]), user_actor(&owner.user));
    assert_eq!(data(&events[5])["status"], "ACCEPTED");
    assert_eq!(events[5].changed_fields, ["status"]);
    assert_eq!(actor_of(&events[5]), user_actor(&bob));
    assert_eq!(
        data(&events[6]),
        json!({"organization_id": org, "user_id": bob.id, "role": "MEMBER", "joined_at": data(&events[6])["joined_at"]})
    );
    assert_eq!(actor_of(&events[6]), user_actor(&bob));
    assert_eq!(
        (data(&events[7])["user_id"].clone(), data(&events[7])["role"].clone()),
        (json!(bob.id), json!("ADMIN"))
    );
    assert_eq!(events[7].changed_fields, ["role"]);

    // carol's resend moves the expiry; the revocation the status.
    assert_eq!(data(&events[8])["id"], carol.id.as_str());
    assert_eq!(events[9].changed_fields, ["expires_at"]);
    assert_ne!(data(&events[9])["expires_at"], data(&events[8])["expires_at"]);
    assert_eq!(data(&events[10])["status"], "REVOKED");
    assert_eq!(events[10].changed_fields, ["status"]);
    assert_eq!(data(&events[12])["status"], "DECLINED");
    assert_eq!(actor_of(&events[12]), user_actor(&dave));

    // The key: its displayed prefix, never its secret.
    let created_key = data(&events[13]);
    assert_eq!(created_key["id"], key.id.as_str());
    assert_eq!(created_key["role"], "MEMBER");
    assert!(key.secret.starts_with(created_key["prefix"].as_str().unwrap()));
    assert_eq!(created_key["revoked_at"], Value::Null);
    assert!(data(&events[14])["revoked_at"].is_string());
    assert_eq!(events[14].changed_fields, ["revoked_at"]);

    // The transfer: bob OWNER, then the caller ADMIN, both by the caller.
    assert_eq!(
        (data(&events[15])["user_id"].clone(), data(&events[15])["role"].clone()),
        (json!(bob.id), json!("OWNER"))
    );
    assert_eq!(
        (data(&events[16])["user_id"].clone(), data(&events[16])["role"].clone()),
        (json!(owner.user.id), json!("ADMIN"))
    );
    assert_eq!(actor_of(&events[16]), user_actor(&owner.user));
    assert_eq!(data(&events[20]), json!({"user_id": eve.id}));
    assert_eq!(actor_of(&events[20]), user_actor(&bob));

    // No secret anywhere: not the key's, not an invitation's mailed token.
    let everything = serde_json::to_string(&events.iter().map(data).collect::<Vec<_>>()).unwrap();
    assert!(!everything.contains(&key.secret), "an API key secret in an event");
    assert!(!everything.contains(&token), "an invitation token in an event");
    assert!(!everything.contains("token"), "{everything}");
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_change_records_no_event() {
    let app = TestApp::spawn().await;
    let c = app.clients();
    let owner = c.owner("owner").await;
    let org = owner.org.to_string();
    let member = c.member(&owner, "member", Role::Member).await;
    let taken = c.owner("other").await;
    let before = feed_of(&c, &owner, 5).await;
    assert_eq!(
        types(&before),
        ["organization.created", "member.added", "invitation.created", "invitation.accepted", "member.added"]
    );

    let mut members = c.members.clone();
    // A MEMBER may not change roles; the last OWNER may not step down.
    let promote =
        UpdateMemberRequest { organization_id: org.clone(), user_id: member.id(), role: Role::Admin.into() };
    assert_error(
        members.update_member(as_user(promote, &member.user)).await,
        tonic::Code::PermissionDenied,
        "INSUFFICIENT_ROLE",
        403,
    );
    let demote =
        UpdateMemberRequest { organization_id: org.clone(), user_id: owner.id(), role: Role::Admin.into() };
    assert_error(
        members.update_member(as_user(demote, &owner.user)).await,
        tonic::Code::FailedPrecondition,
        "LAST_OWNER",
        409,
    );
    // A slug that is taken fails the update statement itself.
    let other_slug = c
        .orgs
        .clone()
        .get_organization(as_user(
            GetOrganizationRequest { organization_id: taken.org.to_string() },
            &taken.user,
        ))
        .await
        .unwrap()
        .into_inner()
        .organization
        .unwrap()
        .slug;
    let rename = UpdateOrganizationRequest {
        organization_id: org.clone(),
        name: Some("New name".into()),
        slug: Some(other_slug),
    };
    assert_eq!(code(c.orgs.clone().update_organization(as_user(rename, &owner.user)).await), "SLUG_TAKEN");
    // A downgrade below the usage (3 API keys on PRO, FREE allows 2).
    c.upgrade(&owner).await;
    for _ in 0..3 {
        c.api_key(&org, &owner.user, Role::Member).await;
    }
    let downgrade = UpdateSubscriptionRequest {
        request_id: random_id(),
        organization_id: org.clone(),
        plan: Plan::Free.into(),
    };
    assert_eq!(
        code(c.subs.clone().update_subscription(as_user(downgrade, &owner.user)).await),
        "PLAN_LIMIT_EXCEEDED"
    );
    // An API key may not revoke what does not exist; a member may not create keys.
    let revoke =
        RevokeApiKeyRequest { organization_id: org.clone(), api_key_id: uuid::Uuid::now_v7().to_string() };
    assert_eq!(
        code(c.api_keys.clone().revoke_api_key(as_user(revoke, &owner.user)).await),
        "API_KEY_NOT_FOUND"
    );

    let after = feed_of(&c, &owner, 9).await;
    tokio::time::sleep(Duration::from_millis(700)).await;
    let after_wait = feed(&c, &owner).await;
    assert_eq!(after_wait.len(), after.len());
    assert_eq!(
        types(&after_wait[5..]),
        ["subscription.changed", "api_key.created", "api_key.created", "api_key.created"],
        "only the changes that were made"
    );
    assert!(outbox_types(&app).await.is_empty());
    app.shutdown().await;
}

/// Changes made while the events service is down are acknowledged with their events in the
/// outbox (committed with them), and a tenancy stopped right after those commits loses none:
/// once events and tenancy are back, the restarted relay sends them and the feed has each once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_committed_with_their_change_survive_an_events_outage_and_a_tenancy_restart() {
    let mut app = TestApp::spawn().await;
    let c = app.clients();
    let owner = c.owner("owner").await;
    let org = owner.org.to_string();
    feed_of(&c, &owner, 2).await;
    assert!(eventually(Duration::from_secs(10), || async { outbox_types(&app).await.is_empty() }).await);

    app.stop(Svc::Events).await;
    let rename =
        UpdateOrganizationRequest { organization_id: org.clone(), name: Some("Offline".into()), slug: None };
    c.orgs.clone().update_organization(as_user(rename, &owner.user)).await.unwrap();
    let key = c.api_key(&org, &owner.user, Role::Admin).await;
    assert_eq!(
        outbox_types(&app).await,
        ["organization.updated", "api_key.created"],
        "committed with their changes"
    );

    // The process that made the changes is gone before it could relay them.
    app.stop(Svc::Tenancy).await;
    app.start(Svc::Events).await;
    assert_eq!(outbox_types(&app).await.len(), 2, "nobody else sends them");
    app.start(Svc::Tenancy).await;
    assert!(
        eventually(Duration::from_secs(10), || async { outbox_types(&app).await.is_empty() }).await,
        "the restarted relay sent the rows and deleted them"
    );
    let events = feed_of(&c, &owner, 4).await;
    assert_eq!(
        types(&events),
        ["organization.created", "member.added", "organization.updated", "api_key.created"]
    );
    assert_eq!(data(&events[2])["name"], "Offline");
    assert_eq!(data(&events[3])["id"], key.id.as_str());
    app.shutdown().await;
}

/// `organization.deleted` is written in the deleting transaction and relayed after the
/// organization is gone; the events service keeps it (it purges by age only), although nobody
/// can read the feed of a deleted organization any more.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn organization_deleted_outlives_its_organization() {
    let app = TestApp::spawn().await;
    let c = app.clients();
    let owner = c.owner("owner").await;
    let org = owner.org.to_string();
    c.api_key(&org, &owner.user, Role::Admin).await;
    feed_of(&c, &owner, 3).await;
    let delete = DeleteOrganizationRequest { organization_id: org.clone() };
    c.orgs.clone().delete_organization(as_user(delete, &owner.user)).await.unwrap();

    let sql = app.sql().await;
    let kept = async || -> Vec<(String, String, String, String)> {
        sql.query(
            "SELECT type, data::text, actor_type, actor_id::text FROM events \
             WHERE organization_id = $1::text::uuid ORDER BY position",
            &[&org],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
        .collect()
    };
    assert!(
        eventually(Duration::from_secs(10), || async { kept().await.len() == 4 }).await,
        "{:?}",
        kept().await
    );
    let events = kept().await;
    let (kind, body, actor_type, actor_id) = &events[3];
    assert_eq!(kind, "organization.deleted");
    assert_eq!(serde_json::from_str::<Value>(body).unwrap(), json!({"id": org}));
    assert_eq!((actor_type.as_str(), actor_id.as_str()), ("USER", owner.user.id.as_str()));
    let gone: i64 = sql
        .query_one("SELECT count(*) FROM organizations WHERE id = $1::text::uuid", &[&org])
        .await
        .unwrap()
        .get(0);
    assert_eq!(gone, 0);
    assert!(outbox_types(&app).await.is_empty());
    // The feed of a deleted organization answers no one.
    let request = ListEventsRequest::default();
    assert_error(
        c.events.clone().list_events(owner.req(request)).await,
        tonic::Code::PermissionDenied,
        "NOT_A_MEMBER",
        403,
    );
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_organization_reads_only_its_own_tenancy_events() {
    let app = TestApp::spawn().await;
    let c = app.clients();
    let alice = c.owner("alice").await;
    let bob = c.owner("bob").await;
    let member = c.member(&alice, "member", Role::Member).await;
    c.api_key(&bob.org.to_string(), &bob.user, Role::Admin).await;
    let rename = UpdateOrganizationRequest {
        organization_id: alice.org.to_string(),
        name: Some("Alice's".into()),
        slug: None,
    };
    c.orgs.clone().update_organization(as_user(rename, &alice.user)).await.unwrap();

    let alices = feed_of(&c, &alice, 6).await;
    let bobs = feed_of(&c, &bob, 3).await;
    assert_eq!(
        types(&alices),
        [
            "organization.created",
            "member.added",
            "invitation.created",
            "invitation.accepted",
            "member.added",
            "organization.updated"
        ]
    );
    assert_eq!(types(&bobs), ["organization.created", "member.added", "api_key.created"]);
    assert!(alices.iter().all(|e| e.organization_id == alice.org.to_string()));
    assert!(bobs.iter().all(|e| e.organization_id == bob.org.to_string()));
    // Another organization's feed: refused to an outsider and to a MEMBER.
    let request = ListEventsRequest::default();
    assert_error(
        c.events.clone().list_events(alice.in_org(bob.org).req(request.clone())).await,
        tonic::Code::PermissionDenied,
        "NOT_A_MEMBER",
        403,
    );
    assert_error(
        c.events.clone().list_events(member.req(request)).await,
        tonic::Code::PermissionDenied,
        "INSUFFICIENT_ROLE",
        403,
    );
    app.shutdown().await;
}
