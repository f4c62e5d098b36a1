//! Webhooks end to end on a real PostgreSQL with a real HTTP receiver on loopback: endpoint
//! management (plan, roles, limit, validation), signed delivery with retries and the deliveries
//! log, secret rotation, disabling (410 and 24 h of failures).

mod support;

use std::time::Duration;

use operant_proto::events::v1::*;
use operant_proto::tenancy::v1::Role;
use operant_testkit::receiver::Receiver;
use operant_testkit::{Clients, TestApp, assert_error, assert_invalid};
use tonic::Code;

use support::{create, deliveries, event, ingest, verifies};

#[tokio::test]
async fn a_signed_delivery_is_retried_after_two_500s_and_logged() {
    let app = TestApp::spawn_with(|s| s.webhooks.retry_scale = 0.1).await;
    let c = app.clients();
    let owner = c.owner("owner").await;
    c.upgrade(&owner).await;
    let receiver = Receiver::start().await;
    receiver.script(&[500, 500]);
    let created = create(&c, &owner, &receiver.url(), &["task.created"]).await;
    let webhook = created.webhook.clone().expect("webhook");
    assert!(created.secret.starts_with("whsec_"), "shown once, as whsec_ + base64");
    assert!(webhook.enabled && webhook.event_types == ["task.created"]);

    let sent = event(owner.org, "task.created");
    // Another type and another organization are not delivered.
    let other = c.owner("other").await;
    ingest(&c, vec![event(owner.org, "task.deleted"), sent.clone(), event(other.org, "task.created")]).await;

    let got = receiver.wait_for(3, Duration::from_secs(15)).await;
    assert_eq!(got.len(), 3);
    for r in &got {
        assert_eq!(r.id, sent.id, "webhook-id is the event id");
        assert!(verifies(&created.secret, r), "every attempt is signed with the secret");
        assert!((r.timestamp - chrono::Utc::now().timestamp()).abs() < 60);
        let body = r.json();
        assert_eq!(body["id"], sent.id.as_str());
        assert_eq!(body["type"], "task.created");
        assert_eq!(body["organization_id"], owner.org.to_string());
        assert_eq!(body["actor"]["type"], "USER");
        assert_eq!(body["data"]["n"], 7);
        assert!(body["occurred_at"].is_string());
    }
    // At once after the first failure, then after 5 s × 0.1 (±10 %).
    assert!(got[1].at - got[0].at < Duration::from_millis(400), "{:?}", got[1].at - got[0].at);
    assert!(got[2].at - got[1].at >= Duration::from_millis(440), "{:?}", got[2].at - got[1].at);

    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(receiver.received().len(), 3, "delivered: no fourth attempt");
    let log = deliveries(&c, &owner, &webhook.id).await;
    let attempts: Vec<(i32, i32, bool)> =
        log.iter().map(|d| (d.attempt, d.status_code, d.delivered)).collect();
    assert_eq!(attempts, [(3, 200, true), (2, 500, false), (1, 500, false)], "newest first");
    assert!(log[0].error.is_empty() && log[0].next_retry_at.is_none());
    assert_eq!(log[1].error, "HTTP 500");
    assert!(log[1].next_retry_at.is_some() && log[2].next_retry_at.is_some());
    assert!(log.iter().all(|d| d.event_id == sent.id && d.event_type == "task.created"));
    app.shutdown().await;
}

#[tokio::test]
async fn endpoints_are_for_admins_of_pro_organizations_up_to_ten() {
    let app = TestApp::spawn().await;
    let c = app.clients();
    let owner = c.owner("owner").await;
    let member = c.member(&owner, "member", Role::Member).await;
    let admin = c.member(&owner, "admin", Role::Admin).await;
    let outsider = c.owner("outsider").await;
    let request = |url: &str| CreateWebhookRequest {
        organization_id: owner.org.to_string(),
        url: url.into(),
        event_types: vec!["task.created".into()],
        description: "ci".into(),
    };
    let mut hooks = c.webhooks.clone();
    let free = hooks.create_webhook(owner.req(request("http://127.0.0.1:9/a"))).await;
    assert_error(free, Code::PermissionDenied, "FEATURE_NOT_IN_PLAN", 403);
    c.upgrade(&owner).await;
    let as_member = hooks.create_webhook(member.req(request("http://127.0.0.1:9/a"))).await;
    assert_error(as_member, Code::PermissionDenied, "INSUFFICIENT_ROLE", 403);
    let as_outsider =
        hooks.create_webhook(outsider.in_org(owner.org).req(request("http://127.0.0.1:9/a"))).await;
    assert_error(as_outsider, Code::PermissionDenied, "NOT_A_MEMBER", 403);
    assert_invalid(hooks.create_webhook(admin.req(request("not a url"))).await, "url");
    let mut bad_types = request("http://127.0.0.1:9/a");
    bad_types.event_types = vec!["Task Created".into()];
    assert_invalid(hooks.create_webhook(admin.req(bad_types)).await, "event_types");
    let mut no_types = request("http://127.0.0.1:9/a");
    no_types.event_types.clear();
    assert_invalid(hooks.create_webhook(admin.req(no_types)).await, "event_types");

    let mut ids = Vec::new();
    for i in 0..10 {
        let created = hooks.create_webhook(admin.req(request(&format!("http://127.0.0.1:9/{i}")))).await;
        ids.push(created.expect("within the limit").into_inner().webhook.expect("webhook").id);
    }
    let eleventh = hooks.create_webhook(admin.req(request("http://127.0.0.1:9/x"))).await;
    assert_error(eleventh, Code::FailedPrecondition, "WEBHOOK_LIMIT_REACHED", 409);

    let list = |page| ListWebhooksRequest { organization_id: owner.org.to_string(), page };
    let first = hooks.list_webhooks(owner.req(list(operant_testkit::page(0, 4, "")))).await.expect("list");
    let first = first.into_inner();
    assert_eq!(first.webhooks.iter().map(|w| w.id.clone()).collect::<Vec<_>>(), ids[..4]);
    let info = first.page.expect("page");
    assert_eq!(info.total, 10);
    let token = info.next_page_token;
    let second = hooks.list_webhooks(owner.req(list(operant_testkit::page_after(&token, 4, "")))).await;
    assert_eq!(
        second.expect("page 2").into_inner().webhooks.iter().map(|w| w.id.clone()).collect::<Vec<_>>(),
        ids[4..8]
    );
    let as_member = hooks.list_webhooks(member.req(list(None))).await;
    assert_error(as_member, Code::PermissionDenied, "INSUFFICIENT_ROLE", 403);

    // Update, read, delete; another organization's id is not found.
    let update = UpdateWebhookRequest {
        organization_id: owner.org.to_string(),
        webhook_id: ids[0].clone(),
        enabled: false,
        description: "paused".into(),
        update_mask: operant_testkit::field_mask(&["enabled", "description"]),
        ..Default::default()
    };
    let updated = hooks.update_webhook(admin.req(update.clone())).await.expect("update").into_inner();
    let updated = updated.webhook.expect("webhook");
    assert!(!updated.enabled);
    assert_eq!((updated.description.as_str(), updated.url.as_str()), ("paused", "http://127.0.0.1:9/0"));
    let bad_mask =
        UpdateWebhookRequest { update_mask: operant_testkit::field_mask(&["secret"]), ..update.clone() };
    assert_invalid(hooks.update_webhook(admin.req(bad_mask)).await, "update_mask");
    let get = GetWebhookRequest { organization_id: owner.org.to_string(), webhook_id: ids[0].clone() };
    assert!(
        !hooks
            .get_webhook(owner.req(get.clone()))
            .await
            .expect("get")
            .into_inner()
            .webhook
            .expect("w")
            .enabled
    );
    let theirs = GetWebhookRequest { organization_id: outsider.org.to_string(), webhook_id: ids[0].clone() };
    c.upgrade(&outsider).await;
    assert_error(hooks.get_webhook(outsider.req(theirs)).await, Code::NotFound, "WEBHOOK_NOT_FOUND", 404);
    let delete = DeleteWebhookRequest { organization_id: owner.org.to_string(), webhook_id: ids[0].clone() };
    hooks.delete_webhook(admin.req(delete.clone())).await.expect("delete");
    assert_error(hooks.delete_webhook(admin.req(delete)).await, Code::NotFound, "WEBHOOK_NOT_FOUND", 404);
    assert_error(hooks.get_webhook(owner.req(get)).await, Code::NotFound, "WEBHOOK_NOT_FOUND", 404);
    // A slot is free again.
    hooks.create_webhook(admin.req(request("http://127.0.0.1:9/y"))).await.expect("the tenth again");

    // The secret is sealed at rest: the stored value is not the key shown.
    let db = app.sql().await;
    let rows = db.query("SELECT secret FROM webhook_endpoints", &[]).await.expect("select");
    assert!(rows.iter().all(|r| r.get::<_, Vec<u8>>(0).starts_with(b"OPSL")));
    app.shutdown().await;
}

#[tokio::test]
async fn after_a_rotation_both_secrets_sign_until_the_overlap_ends() {
    let app = TestApp::spawn().await;
    let c = app.clients();
    let owner = c.owner("owner").await;
    c.upgrade(&owner).await;
    let receiver = Receiver::start().await;
    let created = create(&c, &owner, &receiver.url(), &["project.created"]).await;
    let id = created.webhook.clone().expect("webhook").id;
    let rotate =
        RotateWebhookSecretRequest { organization_id: owner.org.to_string(), webhook_id: id.clone() };
    let rotated =
        c.webhooks.clone().rotate_webhook_secret(owner.req(rotate)).await.expect("rotate").into_inner();
    assert_ne!(rotated.secret, created.secret);
    let until = rotated.webhook.expect("webhook").previous_secret_expires_at.expect("overlap end");
    let hours = (until.seconds - chrono::Utc::now().timestamp()) as f64 / 3600.0;
    assert!((23.9..=24.0).contains(&hours), "{hours}");

    ingest(&c, vec![event(owner.org, "project.created")]).await;
    let got = receiver.wait_for(1, Duration::from_secs(10)).await;
    let signatures: Vec<&str> = got[0].signature.split(' ').collect();
    assert_eq!(signatures.len(), 2, "{}", got[0].signature);
    assert!(verifies(&rotated.secret, &got[0]) && verifies(&created.secret, &got[0]));
    let only_new = support::single(&got[0], signatures[0]);
    let only_old = support::single(&got[0], signatures[1]);
    assert!(verifies(&rotated.secret, &only_new) && !verifies(&created.secret, &only_new));
    assert!(verifies(&created.secret, &only_old) && !verifies(&rotated.secret, &only_old));

    // The overlap ends: only the new secret signs.
    let db = app.sql().await;
    db.execute("UPDATE webhook_endpoints SET previous_secret_expires_at = now() - interval '1 second'", &[])
        .await
        .expect("end the overlap");
    ingest(&c, vec![event(owner.org, "project.created")]).await;
    let got = receiver.wait_for(2, Duration::from_secs(10)).await;
    assert!(!got[1].signature.contains(' '));
    assert!(verifies(&rotated.secret, &got[1]) && !verifies(&created.secret, &got[1]));
    app.shutdown().await;
}

async fn disabled_events(c: &Clients, owner: &operant_testkit::Actor) -> Vec<Event> {
    let request = ListEventsRequest { types: vec!["webhook_endpoint.disabled".into()], ..Default::default() };
    c.events.clone().list_events(owner.req(request)).await.expect("feed").into_inner().events
}

#[tokio::test]
async fn a_410_disables_the_endpoint_at_once_and_an_event_says_so() {
    let app = TestApp::spawn().await;
    let c = app.clients();
    let owner = c.owner("owner").await;
    c.upgrade(&owner).await;
    let receiver = Receiver::start().await;
    receiver.answer(410);
    let id = create(&c, &owner, &receiver.url(), &["task.created"]).await.webhook.expect("w").id;
    ingest(&c, vec![event(owner.org, "task.created")]).await;
    receiver.wait_for(1, Duration::from_secs(10)).await;
    assert!(
        operant_testkit::eventually(Duration::from_secs(5), || async {
            disabled_events(&c, &owner).await.len() == 1
        })
        .await,
        "a webhook_endpoint.disabled event"
    );
    let get = GetWebhookRequest { organization_id: owner.org.to_string(), webhook_id: id.clone() };
    let webhook =
        c.webhooks.clone().get_webhook(owner.req(get)).await.expect("get").into_inner().webhook.expect("w");
    assert!(!webhook.enabled);
    assert_eq!(webhook.disabled_reason, "gone");
    let event = &disabled_events(&c, &owner).await[0];
    assert_eq!(event.actor.as_ref().map(|a| a.r#type.as_str()), Some("SYSTEM"));
    let data =
        serde_json::Value::Object(operant_proto::json::from_struct(event.data.as_ref().expect("data")));
    assert_eq!((data["id"].as_str(), data["reason"].as_str()), (Some(id.as_str()), Some("gone")));

    // Nothing more is sent to a disabled endpoint, not even a retry.
    ingest(&c, vec![event_for(&owner)]).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(receiver.received().len(), 1);
    let log = deliveries(&c, &owner, &id).await;
    assert_eq!(log.len(), 1);
    assert_eq!((log[0].status_code, log[0].delivered), (410, false));
    assert!(log[0].next_retry_at.is_none());
    app.shutdown().await;
}

fn event_for(owner: &operant_testkit::Actor) -> Event {
    event(owner.org, "task.created")
}

#[tokio::test]
async fn an_endpoint_failing_for_the_whole_window_is_disabled() {
    // 24 h × 0.0001 ≈ 8.6 s; the retries come after 0, 0.5 ms, 3 ms, 12 ms, 60 ms, 0.36 s, 2.2 s, ...
    let app = TestApp::spawn_with(|s| s.webhooks.retry_scale = 0.0001).await;
    let c = app.clients();
    let owner = c.owner("owner").await;
    c.upgrade(&owner).await;
    let receiver = Receiver::start().await;
    receiver.answer(503);
    let id = create(&c, &owner, &receiver.url(), &["task.created"]).await.webhook.expect("w").id;
    ingest(&c, vec![event(owner.org, "task.created")]).await;
    assert!(
        operant_testkit::eventually(Duration::from_secs(20), || async {
            disabled_events(&c, &owner).await.len() == 1
        })
        .await,
        "disabled once the window is over"
    );
    let get = GetWebhookRequest { organization_id: owner.org.to_string(), webhook_id: id.clone() };
    let webhook =
        c.webhooks.clone().get_webhook(owner.req(get)).await.expect("get").into_inner().webhook.expect("w");
    assert_eq!((webhook.enabled, webhook.disabled_reason.as_str()), (false, "failing"));
    let log = deliveries(&c, &owner, &id).await;
    assert!(log.len() >= 8, "retried through the window: {} attempts", log.len());
    assert!(log[0].next_retry_at.is_none(), "the last attempt schedules nothing");
    assert!(log.iter().all(|d| d.status_code == 503 && !d.delivered));
    let first = log.last().expect("first").attempted_at.expect("t").seconds;
    let last = log[0].attempted_at.expect("t").seconds;
    assert!(last - first >= 4, "attempts spread over the window: {}", last - first);

    // Enabled again by an admin: a success clears the streak.
    receiver.answer(200);
    let enable = UpdateWebhookRequest {
        organization_id: owner.org.to_string(),
        webhook_id: id.clone(),
        enabled: true,
        update_mask: operant_testkit::field_mask(&["enabled"]),
        ..Default::default()
    };
    let enabled = c.webhooks.clone().update_webhook(owner.req(enable)).await.expect("enable").into_inner();
    assert_eq!(enabled.webhook.expect("w").disabled_reason, "");
    let before = receiver.received().len();
    ingest(&c, vec![event(owner.org, "task.created")]).await;
    receiver.wait_for(before + 1, Duration::from_secs(10)).await;
    app.shutdown().await;
}

#[tokio::test]
async fn a_downgrade_to_free_disables_the_endpoints_and_nothing_more_is_sent() {
    let app = TestApp::spawn().await;
    let c = app.clients();
    let owner = c.owner("owner").await;
    c.upgrade(&owner).await;
    let receiver = Receiver::start().await;
    let id = create(&c, &owner, &receiver.url(), &["task.created"]).await.webhook.expect("w").id;
    let project = c.project(&owner, "hooked").await;
    c.task(&owner, &project, "while PRO").await;
    receiver.wait_for(1, Duration::from_secs(10)).await;

    // The plan change reaches the events service as `subscription.changed` (tenancy's outbox);
    // its ingest disables the organization's endpoints, and says so with an event.
    c.set_plan(&owner.org.to_string(), &owner.user, operant_proto::tenancy::v1::Plan::Free).await;
    assert!(
        operant_testkit::eventually(Duration::from_secs(5), || async {
            disabled_events(&c, &owner).await.len() == 1
        })
        .await,
        "a webhook_endpoint.disabled event"
    );
    let data = serde_json::Value::Object(operant_proto::json::from_struct(
        disabled_events(&c, &owner).await[0].data.as_ref().expect("data"),
    ));
    assert_eq!((data["id"].as_str(), data["reason"].as_str()), (Some(id.as_str()), Some("plan")));
    let admin = app.sql_of(operant_platform::config::ServiceDatabase::Events).await;
    let row = admin
        .query_one("SELECT enabled, disabled_reason FROM webhook_endpoints WHERE id = $1::text::uuid", &[&id])
        .await
        .expect("endpoint");
    assert_eq!((row.get::<_, bool>(0), row.get::<_, Option<String>>(1)), (false, Some("plan".into())));

    c.task(&owner, &project, "after the downgrade").await;
    app.events_relayed().await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(receiver.received().len(), 1, "nothing is sent after the downgrade");
    app.shutdown().await;
}
