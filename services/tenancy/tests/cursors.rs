//! Cursor paging of tenancy's lists: organizations, members, invitations, API keys and the audit
//! log each walk by `next_page_token` through every row once, also while rows are added between
//! two page reads, and refuse a token of another list, filter or order (400 `INVALID_PAGE_TOKEN`).

#![allow(clippy::unwrap_used)]

use std::collections::HashSet;

use operant_proto::common::v1::{PageInfo, PageRequest};
use operant_proto::tenancy::v1::*;
use operant_testkit::*;
use tonic::Code;

/// Every page of a list, by cursor: the ids in order.
async fn walk<F, Fut>(limit: i32, order_by: &str, mut list: F) -> Vec<String>
where
    F: FnMut(Option<PageRequest>) -> Fut,
    Fut: std::future::Future<Output = (Vec<String>, PageInfo)>,
{
    let (mut token, mut ids) = (String::new(), Vec::new());
    for _ in 0..100 {
        let (page, info) = list(page_after(&token, limit, order_by)).await;
        ids.extend(page);
        token = info.next_page_token;
        if token.is_empty() {
            return ids;
        }
    }
    panic!("no last page after 100 pages");
}

fn unique(ids: &[String]) -> bool {
    ids.iter().collect::<HashSet<_>>().len() == ids.len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tenancy_lists_walk_by_cursor() {
    let app = TestApp::spawn().await;
    let h = app.clients();
    let owner = h.user("owner").await;
    let org = h.org_on(&owner, "cursors", Plan::Pro).await;
    for slug in ["cursors-b", "cursors-c"] {
        h.org(&owner, slug).await;
    }
    for tag in ["m1", "m2"] {
        let member = h.user(tag).await;
        h.add(&org, &owner, &member, Role::Member).await;
    }

    // Organizations, by name both ways.
    for order_by in ["name", "-name", "created_at"] {
        let ids = walk(1, order_by, |page| {
            let mut orgs = h.orgs.clone();
            let owner = owner.clone();
            async move {
                let r = orgs.list_organizations(as_user(ListOrganizationsRequest { page }, &owner)).await;
                let r = r.unwrap().into_inner();
                (r.organizations.into_iter().map(|o| o.id).collect(), r.page.unwrap())
            }
        })
        .await;
        assert_eq!(ids.len(), 3, "{order_by}: {ids:?}");
        assert!(unique(&ids));
    }

    // Members (sorted in memory after the profiles are fetched), by every field.
    for order_by in ["joined_at", "-email", "role", "-role"] {
        let ids = walk(1, order_by, |page| {
            let mut members = h.members.clone();
            let (owner, org) = (owner.clone(), org.clone());
            async move {
                let request = ListMembersRequest { organization_id: org, page };
                let r = members.list_members(as_user(request, &owner)).await.unwrap().into_inner();
                (r.members.into_iter().map(|m| m.user_id).collect(), r.page.unwrap())
            }
        })
        .await;
        assert_eq!(ids.len(), 3, "{order_by}: {ids:?}");
        assert!(unique(&ids));
        if order_by == "role" {
            assert_eq!(ids[0], owner.id, "the owner is first by seniority");
        }
    }

    // Invitations: one added between every two page reads, newest first: never a row twice.
    let mut invitations = h.invitations.clone();
    for i in 0..3 {
        let invite = CreateInvitationRequest {
            organization_id: org.clone(),
            email: unique_email(&format!("inv{i}")),
            role: Role::Member.into(),
            request_id: String::new(),
        };
        invitations.create_invitation(as_user(invite, &owner)).await.unwrap();
    }
    let (mut token, mut seen) = (String::new(), Vec::new());
    loop {
        let request = ListInvitationsRequest {
            organization_id: org.clone(),
            page: page_after(&token, 1, ""),
            status: 0,
        };
        let r = invitations.list_invitations(as_user(request, &owner)).await.unwrap().into_inner();
        seen.extend(r.invitations.into_iter().map(|i| i.id));
        token = r.page.unwrap().next_page_token;
        if token.is_empty() {
            break;
        }
        if seen.len() < 5 {
            let invite = CreateInvitationRequest {
                organization_id: org.clone(),
                email: unique_email("late"),
                role: Role::Member.into(),
                request_id: String::new(),
            };
            invitations.create_invitation(as_user(invite, &owner)).await.unwrap();
        }
    }
    assert!(unique(&seen), "{seen:?}");
    assert!(seen.len() >= 3);
    // A token of the unfiltered list is not one of the PENDING list.
    let first = ListInvitationsRequest { organization_id: org.clone(), page: page(0, 1, ""), status: 0 };
    let token = invitations
        .list_invitations(as_user(first, &owner))
        .await
        .unwrap()
        .into_inner()
        .page
        .unwrap()
        .next_page_token;
    let pending = ListInvitationsRequest {
        organization_id: org.clone(),
        page: page_after(&token, 1, ""),
        status: InvitationStatus::Pending.into(),
    };
    assert_error(
        invitations.list_invitations(as_user(pending, &owner)).await,
        Code::InvalidArgument,
        "INVALID_PAGE_TOKEN",
        400,
    );

    // API keys.
    let mut keys = h.api_keys.clone();
    for i in 0..3 {
        let create = CreateApiKeyRequest {
            organization_id: org.clone(),
            name: format!("key {i}"),
            role: Role::Member.into(),
            expires_at: None,
            request_id: String::new(),
        };
        keys.create_api_key(as_user(create, &owner)).await.unwrap();
    }
    let ids = walk(2, "", |page| {
        let mut keys = h.api_keys.clone();
        let (owner, org) = (owner.clone(), org.clone());
        async move {
            let r =
                keys.list_api_keys(as_user(ListApiKeysRequest { organization_id: org, page }, &owner)).await;
            let r = r.unwrap().into_inner();
            (r.api_keys.into_iter().map(|k| k.id).collect(), r.page.unwrap())
        }
    })
    .await;
    assert_eq!(ids.len(), 3);
    assert!(unique(&ids));

    // The audit log, newest first, with events added while it is read.
    let audit = |page| {
        let mut subs = h.subs.clone();
        let (owner, org) = (owner.clone(), org.clone());
        async move {
            let request = ListAuditEventsRequest { organization_id: org, page };
            let r = subs.list_audit_events(as_user(request, &owner)).await.unwrap().into_inner();
            (r.events.into_iter().map(|e| e.id).collect::<Vec<String>>(), r.page.unwrap())
        }
    };
    let (all, info) = audit(page(0, 100, "")).await;
    let (mut token, mut seen) = (String::new(), Vec::new());
    loop {
        let (ids, info) = audit(page_after(&token, 3, "")).await;
        seen.extend(ids);
        token = info.next_page_token;
        if token.is_empty() {
            break;
        }
        let create = CreateApiKeyRequest {
            organization_id: org.clone(),
            name: format!("during {}", seen.len()),
            role: Role::Member.into(),
            expires_at: None,
            request_id: String::new(),
        };
        keys.create_api_key(as_user(create, &owner)).await.unwrap();
    }
    assert_eq!(seen, all, "exactly the events that existed when the walk began: {} of them", info.total);
    // A members token is not an audit-log token.
    let members_page = ListMembersRequest { organization_id: org.clone(), page: page(0, 1, "joined_at") };
    let token = h
        .members
        .clone()
        .list_members(as_user(members_page, &owner))
        .await
        .unwrap()
        .into_inner()
        .page
        .unwrap()
        .next_page_token;
    let request = ListAuditEventsRequest { organization_id: org.clone(), page: page_after(&token, 1, "") };
    assert_error(
        h.subs.clone().list_audit_events(as_user(request, &owner)).await,
        Code::InvalidArgument,
        "INVALID_PAGE_TOKEN",
        400,
    );
}
