//! `create_task_webhook`: `POST /tasks` while the organization has a webhook endpoint
//! subscribed to `task.created` that points at a receiver inside this process. The receiver
//! answers 204 at once and records each delivery's latency: its receipt time minus the event's
//! `occurred_at` (the commit clock of the task's transaction), so it covers work's outbox relay,
//! the events service's ingest and its delivery worker.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes as Body;
use axum::extract::State;
use axum::http::StatusCode as AxumStatus;
use http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::rest::{Prepared, RestConn, RestTarget};

/// The endpoint and the receiver while the scenario runs.
pub struct Subscription {
    webhook_id: String,
    org: String,
    latencies_ms: Arc<Mutex<Vec<f64>>>,
    task: tokio::task::JoinHandle<()>,
}

async fn receive(State(latencies): State<Arc<Mutex<Vec<f64>>>>, body: Body) -> AxumStatus {
    let now = chrono::Utc::now();
    let occurred = serde_json::from_slice::<Value>(&body).ok().and_then(|v| {
        v.get("occurred_at")
            .and_then(Value::as_str)
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
    });
    if let Some(at) = occurred {
        let ms = (now - at.with_timezone(&chrono::Utc)).num_microseconds().unwrap_or(0) as f64 / 1000.0;
        latencies.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(ms);
    }
    AxumStatus::NO_CONTENT
}

fn failure(what: &str, e: impl std::fmt::Display) -> anyhow::Error {
    anyhow::anyhow!("{what}: {e}")
}

impl Subscription {
    /// Starts the receiver on loopback and subscribes it (`task.created`) for `org`; then creates
    /// one probe task in `project` and waits (at most 120 s) for its delivery: the outbox relay
    /// sends in commit order, so the events of earlier scenarios have been ingested by then (they
    /// came before the endpoint and get no deliveries) and the load starts on an idle pipeline.
    /// What the probe's wait received is not counted.
    pub async fn start(
        rest: &Arc<RestTarget>,
        token: &str,
        org: &str,
        project: &str,
    ) -> anyhow::Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}/hook", listener.local_addr()?);
        let latencies_ms = Arc::new(Mutex::new(Vec::new()));
        let app = axum::Router::new().fallback(receive).with_state(latencies_ms.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        let body = json!({"url": url, "event_types": ["task.created"], "description": "operant-bench"});
        let path = format!("/organizations/{org}/webhooks");
        let create =
            Prepared::new(rest, Method::POST, &path, Some(token), None, Some(&body), StatusCode::CREATED)?;
        let answer =
            RestConn::new(rest.clone()).send(&create).await.map_err(|e| failure("create webhook", e))?;
        let created: Value = serde_json::from_slice(&answer)?;
        let webhook_id = created["id"].as_str().unwrap_or_default().to_owned();
        anyhow::ensure!(!webhook_id.is_empty(), "create webhook: no id in {created}");
        let probe = json!({"project_id": project, "title": "operant-bench webhook probe"});
        let create = Prepared::new(
            rest,
            Method::POST,
            "/tasks",
            Some(token),
            Some(org),
            Some(&probe),
            StatusCode::CREATED,
        )?;
        RestConn::new(rest.clone()).send(&create).await.map_err(|e| failure("create probe task", e))?;
        let started = Instant::now();
        while latencies_ms.lock().unwrap_or_else(std::sync::PoisonError::into_inner).is_empty() {
            anyhow::ensure!(
                started.elapsed() < Duration::from_secs(120),
                "the probe task was not delivered within 120 s"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        latencies_ms.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clear();
        Ok(Self { webhook_id, org: org.to_owned(), latencies_ms, task })
    }

    /// Waits until deliveries stop arriving (2 s without one, at most 60 s), deletes the
    /// endpoint and stops the receiver; answers the report's note and the latency percentiles
    /// `(deliveries, p50, p99, max)` in ms.
    pub async fn finish(
        self,
        rest: &Arc<RestTarget>,
        token: &str,
    ) -> anyhow::Result<(usize, Option<f64>, Option<f64>, Option<f64>)> {
        let started = Instant::now();
        let mut seen = 0;
        let mut quiet_since = Instant::now();
        while started.elapsed() < Duration::from_secs(60) && quiet_since.elapsed() < Duration::from_secs(2) {
            tokio::time::sleep(Duration::from_millis(100)).await;
            let n = self.latencies_ms.lock().unwrap_or_else(std::sync::PoisonError::into_inner).len();
            if n != seen {
                seen = n;
                quiet_since = Instant::now();
            }
        }
        let path = format!("/organizations/{}/webhooks/{}", self.org, self.webhook_id);
        let delete =
            Prepared::new(rest, Method::DELETE, &path, Some(token), None, None, StatusCode::NO_CONTENT)?;
        RestConn::new(rest.clone()).send(&delete).await.map_err(|e| failure("delete webhook", e))?;
        self.task.abort();
        let mut all = self.latencies_ms.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
        all.sort_by(f64::total_cmp);
        let at = |q: f64| {
            (!all.is_empty()).then(|| all[((all.len() as f64 * q).ceil() as usize).clamp(1, all.len()) - 1])
        };
        Ok((all.len(), at(0.5), at(0.99), all.last().copied()))
    }
}
