//! Webhooks: organizations' endpoints (PRO feature `webhooks`, at most [`MAX_ENDPOINTS`] each),
//! their signing secrets, and the delivery of every subscribed event.
//!
//! - [`Webhooks`] (this module): the rules of the `WebhookService` RPCs — ADMIN+ only (asked of
//!   tenancy's `Authorize`, whose answer carries the plan's features), the feature for create,
//!   update and rotate, the limit, URL checks ([`ssrf`]), secrets sealed at rest ([`signing`]).
//! - Deliveries are created in the transaction that ingests the event ([`crate::repo::ingest`]);
//!   [`worker`] sends them (Standard Webhooks signatures, the retry schedule, disabling).

pub mod grpc;
pub mod repo;
pub mod signing;
pub mod ssrf;
pub mod worker;

use std::sync::Arc;

use chrono::{Duration as ChronoDuration, Utc};
use diesel_async::AsyncConnection;
use operant_platform::config::WebhookConfig;
use operant_platform::db::{self, PgPool};
use operant_platform::error::FieldViolation;
use operant_platform::paging::{Cursor, KeyKind, Page, PageTokens, Paged, Sort, SortField};
use operant_platform::principal::Actor;
use operant_seal::Keyring;
use uuid::Uuid;

use self::repo::{AttemptRow, EndpointChanges, EndpointRow, NewEndpoint};
use self::signing::{PREVIOUS_SECRET_COLUMN, SECRET_COLUMN, SigningKey};
use crate::domain::{MAX_TYPES, is_event_type};
use crate::error::EventsError;
use crate::peers::Peers;

/// The plan feature that enables webhooks.
pub const FEATURE: &str = "webhooks";
/// Most endpoints of one organization.
pub const MAX_ENDPOINTS: i64 = 10;
/// Longest description.
pub const MAX_DESCRIPTION: usize = 500;
/// How long the previous secret keeps signing after a rotation.
pub const ROTATION_OVERLAP: ChronoDuration = ChronoDuration::hours(24);

/// Order of the endpoint list: `created_at` (oldest first).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndpointSort {
    CreatedAt,
}

impl SortField for EndpointSort {
    const FIELDS: &'static [(&'static str, Self)] = &[("created_at", EndpointSort::CreatedAt)];
    const DEFAULT: Sort<Self> = Sort { field: EndpointSort::CreatedAt, descending: false };
    fn kind(self) -> KeyKind {
        KeyKind::Time
    }
}

/// Order of the deliveries log: `attempted_at` (newest first).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptSort {
    AttemptedAt,
}

impl SortField for AttemptSort {
    const FIELDS: &'static [(&'static str, Self)] = &[("attempted_at", AttemptSort::AttemptedAt)];
    const DEFAULT: Sort<Self> = Sort { field: AttemptSort::AttemptedAt, descending: true };
    fn kind(self) -> KeyKind {
        KeyKind::Time
    }
}

/// What a caller asks for in `CreateWebhook`.
#[derive(Debug, Clone)]
pub struct NewWebhook {
    pub url: String,
    pub event_types: Vec<String>,
    pub description: String,
}

/// What `UpdateWebhook` changes (`None`: unchanged).
#[derive(Debug, Clone, Default)]
pub struct WebhookPatch {
    pub url: Option<String>,
    pub event_types: Option<Vec<String>>,
    pub enabled: Option<bool>,
    pub description: Option<String>,
}

/// An endpoint with a secret to show once (no `Debug`: it holds the secret).
pub struct WithSecret {
    pub endpoint: EndpointRow,
    pub secret: String,
}

/// The webhook rules.
#[derive(Clone)]
pub struct Webhooks {
    pool: PgPool,
    peers: Peers,
    keyring: Arc<Keyring>,
    tokens: PageTokens,
    config: WebhookConfig,
}

impl Webhooks {
    pub fn new(
        pool: PgPool,
        peers: Peers,
        keyring: Arc<Keyring>,
        tokens: PageTokens,
        config: WebhookConfig,
    ) -> Self {
        Self { pool, peers, keyring, tokens, config }
    }

    pub fn page_tokens(&self) -> &PageTokens {
        &self.tokens
    }

    /// ADMIN+ of the organization; with `feature`, its plan must have webhooks.
    async fn admit(&self, actor: &Actor, organization_id: Uuid, feature: bool) -> Result<(), EventsError> {
        let features = self.peers.admin_features(actor, organization_id).await?;
        if feature && !features.iter().any(|f| f == FEATURE) {
            return Err(EventsError::WebhooksNotInPlan);
        }
        Ok(())
    }

    fn url(&self, raw: &str) -> Result<String, FieldViolation> {
        ssrf::check_url(raw.trim(), self.config.allow_private)
            .map(|u| u.to_string())
            .map_err(|why| FieldViolation::new("url", why))
    }

    pub async fn create(
        &self,
        actor: &Actor,
        organization_id: Uuid,
        new: NewWebhook,
    ) -> Result<WithSecret, EventsError> {
        self.admit(actor, organization_id, true).await?;
        let url = self.url(&new.url);
        let types = event_types(&new.event_types);
        let description = description(&new.description);
        let (url, event_types, description) = collect3(url, types, description)?;
        let id = Uuid::now_v7();
        let key = SigningKey::generate()?;
        let row = NewEndpoint {
            id,
            organization_id,
            url,
            event_types,
            description,
            secret: key.seal(&self.keyring, &SECRET_COLUMN, id)?,
        };
        let mut conn = db::conn(&self.pool).await?;
        let endpoint = conn
            .transaction(async |conn| {
                repo::lock_organization(conn, organization_id).await?;
                if repo::count(conn, organization_id).await? >= MAX_ENDPOINTS {
                    return Err(EventsError::WebhookLimitReached(MAX_ENDPOINTS));
                }
                Ok(repo::insert(conn, &row).await?)
            })
            .await?;
        Ok(WithSecret { endpoint, secret: key.shown() })
    }

    pub async fn list(
        &self,
        actor: &Actor,
        organization_id: Uuid,
        page: &Page<EndpointSort>,
    ) -> Result<Paged<EndpointRow>, EventsError> {
        self.admit(actor, organization_id, false).await?;
        let mut conn = db::conn(&self.pool).await?;
        let (rows, total) =
            repo::page(&mut conn, organization_id, page.after.as_ref(), page.skip, page.fetch()).await?;
        Ok(page.paged(rows, total, |row, _| Cursor::time(row.created_at, row.id)))
    }

    pub async fn get(
        &self,
        actor: &Actor,
        organization_id: Uuid,
        id: Uuid,
    ) -> Result<EndpointRow, EventsError> {
        self.admit(actor, organization_id, false).await?;
        let mut conn = db::conn(&self.pool).await?;
        repo::find(&mut conn, organization_id, id).await?.ok_or(EventsError::WebhookNotFound)
    }

    pub async fn update(
        &self,
        actor: &Actor,
        organization_id: Uuid,
        id: Uuid,
        patch: WebhookPatch,
    ) -> Result<EndpointRow, EventsError> {
        self.admit(actor, organization_id, true).await?;
        let url = patch.url.as_deref().map(|u| self.url(u)).transpose();
        let types = patch.event_types.as_deref().map(event_types).transpose();
        let description = patch.description.as_deref().map(description).transpose();
        let (url, event_types, description) = collect3(url, types, description)?;
        let mut conn = db::conn(&self.pool).await?;
        if url.is_none() && event_types.is_none() && description.is_none() && patch.enabled.is_none() {
            return repo::find(&mut conn, organization_id, id).await?.ok_or(EventsError::WebhookNotFound);
        }
        let mut changes = EndpointChanges {
            url,
            event_types,
            enabled: patch.enabled,
            description,
            updated_at: Some(Utc::now()),
            ..Default::default()
        };
        if patch.enabled == Some(true) {
            // Enabled again by a person: why it was disabled, and its failing streak, are over.
            changes.disabled_reason = Some(None);
            changes.failing_since = Some(None);
        }
        repo::update(&mut conn, organization_id, id, &changes).await?.ok_or(EventsError::WebhookNotFound)
    }

    pub async fn delete(&self, actor: &Actor, organization_id: Uuid, id: Uuid) -> Result<(), EventsError> {
        self.admit(actor, organization_id, false).await?;
        let mut conn = db::conn(&self.pool).await?;
        match repo::delete(&mut conn, organization_id, id).await? {
            0 => Err(EventsError::WebhookNotFound),
            _ => Ok(()),
        }
    }

    /// A new secret; the current one becomes the previous one, signing alongside for
    /// [`ROTATION_OVERLAP`] (a previous one still in its overlap is dropped).
    pub async fn rotate(
        &self,
        actor: &Actor,
        organization_id: Uuid,
        id: Uuid,
    ) -> Result<WithSecret, EventsError> {
        self.admit(actor, organization_id, true).await?;
        let key = SigningKey::generate()?;
        let sealed = key.seal(&self.keyring, &SECRET_COLUMN, id)?;
        let mut conn = db::conn(&self.pool).await?;
        let keyring = self.keyring.clone();
        let endpoint = conn
            .transaction(async |conn| {
                let current =
                    repo::find(conn, organization_id, id).await?.ok_or(EventsError::WebhookNotFound)?;
                let old = SigningKey::open(&keyring, &SECRET_COLUMN, id, &current.secret)?;
                let previous = old.seal(&keyring, &PREVIOUS_SECRET_COLUMN, id)?;
                Ok::<_, EventsError>(
                    repo::rotate(conn, id, &sealed, &previous, Utc::now() + ROTATION_OVERLAP).await?,
                )
            })
            .await?;
        Ok(WithSecret { endpoint, secret: key.shown() })
    }

    pub async fn deliveries(
        &self,
        actor: &Actor,
        organization_id: Uuid,
        id: Uuid,
        page: &Page<AttemptSort>,
    ) -> Result<Paged<AttemptRow>, EventsError> {
        self.admit(actor, organization_id, false).await?;
        let mut conn = db::conn(&self.pool).await?;
        repo::find(&mut conn, organization_id, id).await?.ok_or(EventsError::WebhookNotFound)?;
        let (rows, total) =
            repo::attempts_page(&mut conn, id, page.after.as_ref(), page.skip, page.fetch()).await?;
        Ok(page.paged(rows, total, |row, _| Cursor::time(row.attempted_at, row.id)))
    }
}

/// 1 to [`MAX_TYPES`] event types, each `resource.verb`; duplicates dropped, order kept.
fn event_types(values: &[String]) -> Result<Vec<String>, FieldViolation> {
    let mut types: Vec<String> = Vec::new();
    for t in values.iter().map(|t| t.trim()) {
        if !is_event_type(t) {
            return Err(FieldViolation::new(
                "event_types",
                format!("{t:?} is not an event type (`resource.verb`)"),
            ));
        }
        if !types.iter().any(|k| k == t) {
            types.push(t.to_owned());
        }
    }
    if types.is_empty() || types.len() > MAX_TYPES {
        return Err(FieldViolation::new("event_types", format!("must list 1 to {MAX_TYPES} event types")));
    }
    Ok(types)
}

fn description(value: &str) -> Result<String, FieldViolation> {
    if value.chars().count() > MAX_DESCRIPTION {
        return Err(FieldViolation::new(
            "description",
            format!("must be at most {MAX_DESCRIPTION} characters"),
        ));
    }
    if value.contains('\0') {
        return Err(FieldViolation::new("description", "must not contain NUL characters"));
    }
    Ok(value.to_owned())
}

/// The three values, or one 422 naming every bad field.
fn collect3<A, B, C>(
    a: Result<A, FieldViolation>,
    b: Result<B, FieldViolation>,
    c: Result<C, FieldViolation>,
) -> Result<(A, B, C), EventsError> {
    match (a, b, c) {
        (Ok(a), Ok(b), Ok(c)) => Ok((a, b, c)),
        (a, b, c) => {
            Err(EventsError::Validation([a.err(), b.err(), c.err()].into_iter().flatten().collect()))
        }
    }
}
