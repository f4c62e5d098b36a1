//! Safe retries: the `Idempotency-Key` of REST, the `request_id` of gRPC (AIP-155).
//!
//! A request that creates or changes something may carry a key (1 to 255 visible ASCII
//! characters). The owning service keeps, per caller scope, route and key, the fingerprint of
//! the request and its answer, **in the same transaction as the effect**, in its own table
//! (each service owns one, all with the columns of [`Store`]):
//!
//! 1. the transaction first takes a transaction-scoped advisory lock on (table, scope, route,
//!    key) with `pg_try_advisory_xact_lock`: held by another request → 409
//!    `IDEMPOTENCY_IN_FLIGHT` (gRPC ABORTED, `RetryInfo` 1 s);
//! 2. a kept record with the same fingerprint → its answer is replayed (the stored response
//!    message, or the stored refusal) and nothing runs; with another fingerprint → 422
//!    `IDEMPOTENCY_KEY_REUSED` (gRPC FAILED_PRECONDITION);
//! 3. no record → the effect runs in a savepoint; its success (the encoded response message)
//!    or its business refusal (a 4xx the service decided, the savepoint rolled back) is stored
//!    and committed with it. Never stored: authentication and permission refusals (401, 403
//!    other than a plan limit), 429 and failures (5xx, unavailable): the transaction rolls back
//!    and a retry runs again, which is safe because nothing was committed.
//!
//! A domain operation reads:
//!
//! ```ignore
//! conn.transaction(async |conn| {
//!     if let Some(stored) = store.begin(conn, key).await? {
//!         return Ok(stored.replay());
//!     }
//!     let result = conn.transaction(async |conn| effect(conn).await).await; // the savepoint
//!     store.finish(conn, key, result, respond).await
//! })
//! .await?
//! ```
//!
//! A service whose answers carry a secret (tenancy: a new API key's) seals the kept bodies with
//! the master key ([`Store::sealed`]); nothing secret is kept in plaintext.
//!
//! Records are kept `OPERANT_IDEMPOTENCY_TTL_SECS` (24 h) and then deleted by [`spawn_purge`]
//! in batches of [`PURGE_BATCH`] rows (`FOR UPDATE SKIP LOCKED`, so replicas share the work).

use std::sync::Arc;
use std::time::Duration;

use diesel::sql_types::{Bytea, Integer, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use operant_seal::{Aad, Keyring, is_sealed};
use sha2::{Digest, Sha256};
use tonic::metadata::MetadataValue;
use tonic::{Code, Status};

use crate::db::{PgPool, Prepared};
use crate::error::{ApiError, ErrorCode};
use crate::headers::IDEMPOTENT_REPLAYED_HEADER;
use crate::shutdown::Shutdown;

/// Longest key, in characters.
pub const MAX_KEY_CHARS: usize = 255;
/// Rows deleted per purge statement.
pub const PURGE_BATCH: i64 = 1000;

/// The idempotency key of one request: its key, the caller's scope, the route and the request's
/// fingerprint.
#[derive(Debug, Clone)]
pub struct Key {
    key: String,
    scope: Vec<u8>,
    route: &'static str,
    fingerprint: Vec<u8>,
}

/// The request id of a message, checked: `None` when empty, 400 `INVALID_IDEMPOTENCY_KEY` when
/// not 1 to 255 visible ASCII characters.
pub fn parse_key(raw: &str) -> Result<Option<&str>, ApiError> {
    if raw.is_empty() {
        return Ok(None);
    }
    if raw.len() > MAX_KEY_CHARS || !raw.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(invalid_key());
    }
    Ok(Some(raw))
}

/// 400 `INVALID_IDEMPOTENCY_KEY`.
pub fn invalid_key() -> ApiError {
    ApiError::new(
        ErrorCode::InvalidIdempotencyKey,
        format!("the Idempotency-Key (request_id) must be 1 to {MAX_KEY_CHARS} visible ASCII characters"),
    )
}

impl Key {
    /// The key of a request whose `request_id` is `raw` (`None` when it is empty): `route` is
    /// the gRPC method path, `scope` names the caller (`user:<id>`, `api_key:<id>`, ...), and
    /// `parts` are what makes two requests the same (the organization, path ids, the encoded
    /// request message without its `request_id`).
    pub fn new(
        raw: &str,
        route: &'static str,
        scope: &str,
        parts: &[&[u8]],
    ) -> Result<Option<Key>, ApiError> {
        let Some(key) = parse_key(raw)? else { return Ok(None) };
        let mut fingerprint = Sha256::new();
        fingerprint.update(route.as_bytes());
        for part in parts {
            // Length-prefixed, so that moving bytes between parts changes the fingerprint.
            fingerprint.update((part.len() as u64).to_be_bytes());
            fingerprint.update(part);
        }
        Ok(Some(Key {
            key: key.to_owned(),
            scope: Sha256::digest(scope.as_bytes()).to_vec(),
            route,
            fingerprint: fingerprint.finalize().to_vec(),
        }))
    }
}

/// An answer, fresh or replayed.
#[derive(Debug)]
pub struct Answer<M> {
    pub message: M,
    /// The stored answer of an earlier request with the same key.
    pub replayed: bool,
}

impl<M> Answer<M> {
    /// The gRPC response; a replay carries `idempotent-replayed: true`.
    pub fn into_response(self) -> tonic::Response<M> {
        let mut response = tonic::Response::new(self.message);
        if self.replayed {
            response.metadata_mut().insert(IDEMPOTENT_REPLAYED_HEADER, MetadataValue::from_static("true"));
        }
        response
    }
}

/// A kept answer.
#[derive(Debug, diesel::QueryableByName)]
pub struct Stored {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    id: uuid::Uuid,
    #[diesel(sql_type = Bytea)]
    fingerprint: Vec<u8>,
    /// 0 for a success, else the gRPC code of the refusal.
    #[diesel(sql_type = Integer)]
    code: i32,
    #[diesel(sql_type = Text)]
    message: String,
    /// The encoded response message, or the refusal's status details.
    #[diesel(sql_type = Bytea)]
    body: Vec<u8>,
}

impl Stored {
    /// The stored answer again: the response message, or the refusal (relayed unchanged).
    pub fn replay<M: prost::Message + Default, E: From<ApiError>>(self) -> Result<Answer<M>, E> {
        if self.code != 0 {
            let status = Status::with_details(Code::from(self.code), self.message, self.body.into());
            return Err(E::from(ApiError::replayed(status)));
        }
        M::decode(self.body.as_slice()).map(|message| Answer { message, replayed: true }).map_err(|e| {
            E::from(ApiError::internal(format!("stored idempotent answer does not decode: {e}")))
        })
    }
}

/// Whether a refusal is a business decision of the service, kept for replays.
fn storable(code: ErrorCode) -> bool {
    let http = code.http_status();
    (400..500).contains(&http)
        && http != 401
        && http != 429
        && !matches!(code.grpc_code(), Code::Unauthenticated | Code::PermissionDenied)
        && !matches!(
            code,
            ErrorCode::IdempotencyInFlight
                | ErrorCode::IdempotencyKeyReused
                | ErrorCode::InvalidIdempotencyKey
        )
}

/// One service's idempotency table and how long its records are kept.
#[derive(Clone)]
pub struct Store {
    table: &'static str,
    ttl: Duration,
    keyring: Option<Arc<Keyring>>,
    lock_sql: String,
    find_sql: String,
    save_sql: String,
    purge_sql: String,
    claim_sql: String,
}

#[derive(diesel::QueryableByName)]
struct Locked {
    #[diesel(sql_type = diesel::sql_types::Bool)]
    locked: bool,
}

impl Store {
    /// The store of `table` (a constant: it is part of the SQL text), with columns `scope`
    /// bytea, `route` text, `key` text (the primary key), `fingerprint` bytea, `code` integer,
    /// `message` text, `body` bytea, `created_at` and `expires_at` timestamptz.
    pub fn new(table: &'static str, ttl: Duration) -> Self {
        Store {
            table,
            ttl,
            keyring: None,
            lock_sql: "SELECT pg_try_advisory_xact_lock(hashtextextended($1, 0)) AS locked".to_owned(),
            find_sql: format!(
                "SELECT id, fingerprint, code, message, body FROM {table} \
                 WHERE scope = $1 AND route = $2 AND key = $3 AND expires_at > now()"
            ),
            save_sql: format!(
                "INSERT INTO {table} (id, scope, route, key, fingerprint, code, message, body, created_at, expires_at) \
                 VALUES ($9, $1, $2, $3, $4, $5, $6, $7, now(), now() + make_interval(secs => $8)) \
                 ON CONFLICT (scope, route, key) DO UPDATE SET id = EXCLUDED.id, fingerprint = EXCLUDED.fingerprint, \
                 code = EXCLUDED.code, message = EXCLUDED.message, body = EXCLUDED.body, \
                 created_at = EXCLUDED.created_at, expires_at = EXCLUDED.expires_at"
            ),
            purge_sql: format!(
                "DELETE FROM {table} WHERE ctid = ANY(ARRAY(SELECT ctid FROM {table} \
                 WHERE expires_at <= now() LIMIT $1 FOR UPDATE SKIP LOCKED))"
            ),
            claim_sql: format!(
                "INSERT INTO {table} (id, scope, route, key, fingerprint, code, message, body, created_at, expires_at) \
                 VALUES ($1, $2, $3, $4, $5, 0, '', $6, now(), now() + make_interval(secs => $7)) \
                 ON CONFLICT (scope, route, key) DO NOTHING RETURNING id"
            ),
        }
    }

    /// Seals every kept body with the master key (for answers that carry a secret, such as a
    /// new API key): bound to the table, column `body` and the row's `id`; list
    /// [`Store::sealed_column`] with the service's sealed columns for `rotate-master-key`.
    pub fn sealed(mut self, keyring: Arc<Keyring>) -> Self {
        self.keyring = Some(keyring);
        self
    }

    /// The sealed `body` column of `table`, for the master-key rotation.
    pub const fn sealed_column(table: &'static str) -> crate::sealed::SealedColumn {
        crate::sealed::SealedColumn { table, column: "body", key: "id", key_type: "uuid" }
    }

    /// The table's name.
    pub fn table(&self) -> &'static str {
        self.table
    }

    /// The fast path of a creation whose whole answer is known before it runs (its id and
    /// timestamps made by the caller): an `INSERT` of the key with that answer, `ON CONFLICT DO
    /// NOTHING ... RETURNING id`, for the caller to put in a `WITH claimed AS (...)` in front of
    /// its own `INSERT ... SELECT ... FROM claimed`. One statement then writes the key, its answer
    /// and the effect atomically, in one round trip, with no explicit transaction, lock or
    /// savepoint; a key already taken (kept, expired or in flight — the unique index makes a
    /// concurrent claim wait for the first) inserts nothing, and so does a refusal (the statement
    /// fails): the caller then takes the general path ([`Store::begin`] / [`Store::finish`]),
    /// which replays, refuses the reuse, keeps the refusal or answers 409. Binds `$1..=$7` (see
    /// [`Store::claim`]); the caller's own binds start at `$8`. `None` for a sealed store (its
    /// body must be sealed with the row's id, which the general path does).
    pub fn claim_sql(&self) -> Option<&str> {
        if self.keyring.is_some() { None } else { Some(&self.claim_sql) }
    }

    /// `sql` (a statement built around [`Store::claim_sql`]) with the claim's binds `$1..=$7`:
    /// the kept answer's id, the key's scope, route, key and fingerprint, the success `body`
    /// (the encoded response message) and the time to keep it.
    pub fn claim<'a>(
        &self,
        sql: String,
        key: &'a Key,
        body: &'a [u8],
    ) -> diesel::query_builder::BoxedSqlQuery<'a, diesel::pg::Pg, diesel::query_builder::SqlQuery> {
        diesel::sql_query(sql)
            .into_boxed()
            .bind::<diesel::sql_types::Uuid, _>(uuid::Uuid::now_v7())
            .bind::<Bytea, _>(&key.scope[..])
            .bind::<Text, _>(key.route)
            .bind::<Text, _>(&key.key[..])
            .bind::<Bytea, _>(&key.fingerprint[..])
            .bind::<Bytea, _>(body)
            .bind::<diesel::sql_types::Double, _>(self.ttl.as_secs_f64())
    }

    /// The kept answer of `begin`, its body opened when it is sealed.
    fn opened(&self, mut stored: Stored) -> Result<Stored, ApiError> {
        if is_sealed(&stored.body) {
            let Some(keyring) = &self.keyring else {
                return Err(ApiError::internal(
                    "a kept idempotent answer is sealed but no master key is configured",
                ));
            };
            let row = stored.id.to_string();
            let aad = Aad { table: self.table, column: "body", row: &row };
            stored.body = keyring
                .open(&aad, &stored.body)
                .map_err(|e| ApiError::internal(format!("a kept idempotent answer does not open: {e}")))?
                .to_vec();
        }
        Ok(stored)
    }

    /// Step 1 and 2, first in the effect's transaction: the key's lock (409
    /// `IDEMPOTENCY_IN_FLIGHT` when another request holds it) and the kept answer, if any (422
    /// `IDEMPOTENCY_KEY_REUSED` when it was for another request). Without a key: `None`.
    pub async fn begin(
        &self,
        conn: &mut AsyncPgConnection,
        key: Option<&Key>,
    ) -> Result<Option<Stored>, ApiError> {
        let Some(key) = key else { return Ok(None) };
        let name = format!("idempotency:{}:{}:{}:{}", self.table, hex(&key.scope), key.route, key.key);
        let locked: Locked = Prepared(diesel::sql_query(self.lock_sql.clone()).bind::<Text, _>(name))
            .get_result(conn)
            .await
            .map_err(crate::error::from_diesel)?;
        if !locked.locked {
            return Err(ApiError::new(
                ErrorCode::IdempotencyInFlight,
                "a request with this Idempotency-Key is still running; retry later",
            )
            .with_retry_after(Duration::from_secs(1)));
        }
        let found: Option<Stored> = Prepared(
            diesel::sql_query(self.find_sql.clone())
                .bind::<Bytea, _>(&key.scope)
                .bind::<Text, _>(key.route)
                .bind::<Text, _>(&key.key),
        )
        .get_result(conn)
        .await
        .map(Some)
        .or_else(|e| if e == diesel::result::Error::NotFound { Ok(None) } else { Err(e) })
        .map_err(crate::error::from_diesel)?;
        match found {
            Some(stored) if stored.fingerprint != key.fingerprint => Err(ApiError::new(
                ErrorCode::IdempotencyKeyReused,
                "this Idempotency-Key was already used for a different request",
            )),
            Some(stored) => self.opened(stored).map(Some),
            None => Ok(None),
        }
    }

    /// Step 3, after the effect's savepoint: keeps its success (as `respond` makes the message)
    /// or its business refusal. The outer `Err` rolls the transaction back (a failure, nothing
    /// kept); `Ok(Err(refusal))` commits the kept refusal and answers it.
    #[allow(clippy::type_complexity)]
    pub async fn finish<T, M, E>(
        &self,
        conn: &mut AsyncPgConnection,
        key: Option<&Key>,
        result: Result<T, E>,
        respond: impl FnOnce(T) -> M,
    ) -> Result<Result<Answer<M>, E>, E>
    where
        M: prost::Message,
        E: From<ApiError> + Into<ApiError>,
    {
        let Some(key) = key else {
            return result.map(|t| Ok(Answer { message: respond(t), replayed: false }));
        };
        match result {
            Ok(t) => {
                let message = respond(t);
                self.save(conn, key, 0, "", &message.encode_to_vec()).await.map_err(E::from)?;
                Ok(Ok(Answer { message, replayed: false }))
            }
            Err(e) => {
                let api: ApiError = e.into();
                let code = api.error_code;
                let status = Status::from(api);
                if !storable(code) {
                    return Err(E::from(ApiError::relayed(status)));
                }
                self.save(conn, key, status.code() as i32, status.message(), status.details())
                    .await
                    .map_err(E::from)?;
                Ok(Err(E::from(ApiError::relayed(status))))
            }
        }
    }

    async fn save(
        &self,
        conn: &mut AsyncPgConnection,
        key: &Key,
        code: i32,
        message: &str,
        body: &[u8],
    ) -> Result<(), ApiError> {
        let id = uuid::Uuid::now_v7();
        let sealed;
        let body = match &self.keyring {
            Some(keyring) => {
                let row = id.to_string();
                let aad = Aad { table: self.table, column: "body", row: &row };
                sealed = keyring
                    .seal(&aad, body)
                    .map_err(|e| ApiError::internal(format!("sealing an idempotent answer: {e}")))?;
                &sealed[..]
            }
            None => body,
        };
        Prepared(
            diesel::sql_query(self.save_sql.clone())
                .bind::<Bytea, _>(&key.scope)
                .bind::<Text, _>(key.route)
                .bind::<Text, _>(&key.key)
                .bind::<Bytea, _>(&key.fingerprint)
                .bind::<Integer, _>(code)
                .bind::<Text, _>(message)
                .bind::<Bytea, _>(body)
                .bind::<diesel::sql_types::Double, _>(self.ttl.as_secs_f64())
                .bind::<diesel::sql_types::Uuid, _>(id),
        )
        .execute(conn)
        .await
        .map(|_| ())
        .map_err(crate::error::from_diesel)
    }

    /// Deletes expired records, [`PURGE_BATCH`] at a time, until none is left; returns how many.
    pub async fn purge(&self, pool: &PgPool) -> Result<usize, ApiError> {
        let mut total = 0;
        loop {
            let mut conn = crate::db::conn(pool).await?;
            let n = Prepared(
                diesel::sql_query(self.purge_sql.clone()).bind::<diesel::sql_types::BigInt, _>(PURGE_BATCH),
            )
            .execute(&mut conn)
            .await
            .map_err(crate::error::from_diesel)?;
            total += n;
            if (n as i64) < PURGE_BATCH {
                return Ok(total);
            }
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Purges `store`'s expired records in the background until `shutdown`: every TTL, at least
/// every minute and at most every second.
pub fn spawn_purge(pool: PgPool, store: Store, shutdown: Shutdown) {
    let every = store.ttl.clamp(Duration::from_secs(1), Duration::from_secs(60));
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                () = shutdown.wait() => return,
            }
            match store.purge(&pool).await {
                Ok(0) => {}
                Ok(n) => tracing::debug!(table = store.table, purged = n, "expired idempotency keys purged"),
                Err(e) => tracing::warn!(table = store.table, error = %e, "purging idempotency keys failed"),
            }
        }
    });
}

#[cfg(test)]
mod tests;
