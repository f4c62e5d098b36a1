//! Webhook delivery under the production rules and at volume: SSRF refusals (at create/update
//! for the scheme and IP literals, at send time for names resolving to private addresses), and
//! 1,000 events through two events-service replicas (two delivery workers on one database),
//! each delivered exactly once; a worker killed mid-delivery (its database connection lost)
//! leaves the delivery to the next round.

mod support;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use operant_platform::shutdown::Shutdown;
use operant_proto::events::v1::*;
use operant_testkit::receiver::Receiver;
use operant_testkit::{TestApp, assert_invalid, free_port};

use support::{create, deliveries, event, ingest};

#[tokio::test]
async fn production_mode_refuses_private_targets_at_create_update_and_send() {
    let app = TestApp::spawn_with(|s| s.webhooks.allow_private = false).await;
    let c = app.clients();
    let owner = c.owner("owner").await;
    c.upgrade(&owner).await;
    let mut hooks = c.webhooks.clone();
    let request = |url: &str| CreateWebhookRequest {
        organization_id: owner.org.to_string(),
        url: url.into(),
        event_types: vec!["task.created".into()],
        description: String::new(),
    };
    for url in [
        "http://example.com/hook",
        "https://127.0.0.1/hook",
        "https://10.1.2.3/hook",
        "https://172.20.0.1/hook",
        "https://192.168.0.10/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://100.64.0.1/",
        "https://[::1]/hook",
        "https://[fd00:ec2::254]/",
        "https://[::ffff:127.0.0.1]/",
    ] {
        assert_invalid(hooks.create_webhook(owner.req(request(url))).await, "url");
    }
    let ok =
        hooks.create_webhook(owner.req(request("https://example.com/hook"))).await.expect("public https");
    let id = ok.into_inner().webhook.expect("w").id;
    for url in ["http://example.com/hook", "https://127.0.0.1/x", "https://[::1]:8443/"] {
        let update = UpdateWebhookRequest {
            organization_id: owner.org.to_string(),
            webhook_id: id.clone(),
            url: url.into(),
            update_mask: operant_testkit::field_mask(&["url"]),
            ..Default::default()
        };
        assert_invalid(hooks.update_webhook(owner.req(update)).await, "url");
    }

    // A name is checked once resolved, when the delivery is sent: `localhost` is loopback, so
    // the receiver listening there is never reached.
    let receiver = Receiver::start().await;
    let url = format!("https://localhost:{}/hook", receiver.addr.port());
    let local = create(&c, &owner, &url, &["task.created"]).await.webhook.expect("w").id;
    ingest(&c, vec![event(owner.org, "task.created")]).await;
    let refused = operant_testkit::eventually(Duration::from_secs(10), || async {
        deliveries(&c, &owner, &local).await.iter().any(|d| d.error.contains("may not reach"))
    })
    .await;
    assert!(refused, "the attempt is logged as refused: {:?}", deliveries(&c, &owner, &local).await);
    let log = deliveries(&c, &owner, &local).await;
    assert!(log.iter().all(|d| d.status_code == 0 && !d.delivered), "{log:?}");
    assert!(log[0].next_retry_at.is_some(), "retried like any connection error");
    assert!(receiver.received().is_empty(), "nothing was sent to loopback");
    app.shutdown().await;
}

#[tokio::test]
async fn a_thousand_events_through_two_replicas_are_each_delivered_exactly_once() {
    let app = TestApp::spawn().await;
    let c = app.clients();
    let owner = c.owner("owner").await;
    c.upgrade(&owner).await;
    // A second events service on the same database: its own delivery worker.
    let mut settings = (*app.settings).clone();
    settings.listen.events_admin = free_port().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let (trigger, shutdown) = Shutdown::new();
    let replica = tokio::spawn(operant_events::run(Arc::new(settings), listener, shutdown));

    let receiver = Receiver::start().await;
    let id = create(&c, &owner, &receiver.url(), &["task.created"]).await.webhook.expect("w").id;
    let sent: Vec<Event> = (0..1000).map(|_| event(owner.org, "task.created")).collect();
    let batches: Vec<_> = sent
        .chunks(50)
        .map(|chunk| {
            let (c, chunk) = (c.clone(), chunk.to_vec());
            tokio::spawn(async move { ingest(&c, chunk).await })
        })
        .collect();
    for batch in batches {
        assert_eq!(batch.await.expect("ingest").accepted, 50);
    }
    receiver.wait_for(1000, Duration::from_secs(90)).await;
    // Anything sent twice would arrive within this.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let got = receiver.received();
    let mut counts: HashMap<String, usize> = HashMap::new();
    for r in &got {
        *counts.entry(r.id.clone()).or_default() += 1;
    }
    let twice: Vec<_> = counts.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "delivered more than once: {twice:?}");
    assert_eq!(got.len(), 1000);
    assert!(sent.iter().all(|e| counts.contains_key(&e.id)), "every event delivered");

    let db = app.sql().await;
    let row = db
        .query_one(
            "SELECT count(*) FILTER (WHERE state = 'DELIVERED'), count(*), \
             (SELECT count(*) FROM webhook_attempts WHERE endpoint_id = $1::text::uuid) \
             FROM webhook_deliveries",
            &[&id],
        )
        .await
        .expect("counts");
    assert_eq!((row.get::<_, i64>(0), row.get::<_, i64>(1), row.get::<_, i64>(2)), (1000, 1000, 1000));
    trigger.trigger();
    let _ = tokio::time::timeout(Duration::from_secs(15), replica).await;
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_killed_mid_delivery_leaves_it_to_the_next_round() {
    let app = TestApp::spawn().await;
    let c = app.clients();
    let owner = c.owner("owner").await;
    c.upgrade(&owner).await;
    let receiver = Receiver::start().await;
    receiver.delay(Duration::from_secs(3));
    let id = create(&c, &owner, &receiver.url(), &["task.created"]).await.webhook.expect("w").id;
    let sent = event(owner.org, "task.created");
    ingest(&c, vec![sent.clone()]).await;
    receiver.wait_for(1, Duration::from_secs(10)).await;

    // The worker now waits for the answer, its round's transaction open with the delivery
    // locked. Its connection is cut, as when its process is killed: PostgreSQL rolls the round
    // back and releases the row.
    let db = app.sql().await;
    let killed: i64 = db
        .query_one(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
             WHERE datname = current_database() AND state = 'idle in transaction' \
               AND query LIKE '%webhook_endpoints%' AND pid <> pg_backend_pid()",
            &[],
        )
        .await
        .expect("terminate")
        .get(0);
    assert_eq!(killed, 1, "one round in flight");
    receiver.delay(Duration::ZERO);

    let got = receiver.wait_for(2, Duration::from_secs(15)).await;
    assert!(got.iter().all(|r| r.id == sent.id), "the same event, sent again");
    let delivered = operant_testkit::eventually(Duration::from_secs(10), || async {
        db.query_one("SELECT state FROM webhook_deliveries", &[])
            .await
            .map(|row| row.get::<_, String>(0) == "DELIVERED")
            .unwrap_or(false)
    })
    .await;
    assert!(delivered, "the delivery is recorded by the round that finished");
    let log = deliveries(&c, &owner, &id).await;
    assert_eq!(log.len(), 1, "the killed round's attempt went with its transaction: {log:?}");
    assert!(log[0].delivered && log[0].attempt == 1);
    app.shutdown().await;
}

#[tokio::test]
async fn an_endpoint_whose_key_does_not_open_fails_on_the_schedule_instead_of_spinning() {
    let app = TestApp::spawn().await;
    let c = app.clients();
    let owner = c.owner("owner").await;
    c.upgrade(&owner).await;
    let receiver = Receiver::start().await;
    let id = create(&c, &owner, &receiver.url(), &["task.created"]).await.webhook.expect("w").id;
    // A sealed secret that no master key opens (a damaged row, a wrong key after a restore).
    let db = app.sql().await;
    db.execute("UPDATE webhook_endpoints SET secret = '\\x0102'::bytea WHERE id = $1::text::uuid", &[&id])
        .await
        .expect("damage the secret");
    ingest(&c, vec![event(owner.org, "task.created")]).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(receiver.received().is_empty(), "nothing unsigned is sent");
    // Failed attempts on the schedule (at once, then after 5 s), not a claim in every round.
    let log = deliveries(&c, &owner, &id).await;
    assert_eq!(log.len(), 2, "{log:?}");
    assert!(log.iter().all(|a| !a.delivered && a.error.contains("signing key") && a.next_retry_at.is_some()));
    app.shutdown().await;
}
