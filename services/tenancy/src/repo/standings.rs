//! Announcements of changes to what `Authorize` answers (not a table): every write to a
//! membership, a plan, an organization's existence or an API key's state calls [`announce`] on
//! the same connection, so the `NOTIFY` is delivered exactly when the change commits, to every
//! tenancy replica's listener (`domain::standings`), which forwards it over
//! `WatchStandingChanges` to the callers that cache standings.
//!
//! The same channel carries each replica's freshness ticks ([`tick`]): PostgreSQL delivers the
//! notifications of different transactions in commit order, so hearing one's own tick proves
//! that every change committed before it was issued has been heard.

use diesel::QueryResult;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use operant_platform::db::Prepared;
use uuid::Uuid;

/// The channel of standing changes (payload: the organization id) and ticks (`tick:…`).
pub const STANDING_CHANNEL: &str = "operant_standing_changed";

/// The prefix of a tick's payload (`tick:<replica nonce>:<sequence>`).
pub const TICK_PREFIX: &str = "tick:";

async fn notify(conn: &mut AsyncPgConnection, payload: String) -> QueryResult<()> {
    Prepared(
        diesel::sql_query("SELECT pg_notify($1, $2)")
            .bind::<diesel::sql_types::Text, _>(STANDING_CHANNEL)
            .bind::<diesel::sql_types::Text, _>(payload),
    )
    .execute(conn)
    .await
    .map(|_| ())
}

/// Announces that the standings in `organization_id` changed, delivered when the current
/// transaction commits (at once outside a transaction).
pub async fn announce(conn: &mut AsyncPgConnection, organization_id: Uuid) -> QueryResult<()> {
    notify(conn, organization_id.to_string()).await
}

/// Sends this replica's tick `sequence` (its own transaction).
pub async fn tick(conn: &mut AsyncPgConnection, nonce: &str, sequence: u64) -> QueryResult<()> {
    notify(conn, format!("{TICK_PREFIX}{nonce}:{sequence}")).await
}
