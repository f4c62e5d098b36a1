//! `api_key_attempts`: throttling counters of invalid API keys, one row per client address,
//! changed only by single atomic statements (the shape of auth's `login_attempts`).

use chrono::{DateTime, Utc};
use diesel::QueryableByName;
use diesel::sql_types::{Double, Integer, Text, Timestamptz};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use operant_platform::db::Prepared;

#[derive(Debug, QueryableByName)]
pub struct Counter {
    #[diesel(sql_type = Integer)]
    pub failures: i32,
    #[diesel(sql_type = Timestamptz)]
    pub window_start: DateTime<Utc>,
}

/// Counts one more attempt for `key` (restarting the window when it has passed) and returns
/// the new count. Row locking of the upsert serialises concurrent attempts of one key.
pub async fn reserve(
    conn: &mut AsyncPgConnection,
    key: &str,
    window_secs: f64,
) -> diesel::QueryResult<Counter> {
    Prepared(diesel::sql_query(
        "INSERT INTO api_key_attempts AS a (throttle_key, failures, window_start) VALUES ($1, 1, now()) \
         ON CONFLICT (throttle_key) DO UPDATE SET \
           failures = CASE WHEN a.window_start + make_interval(secs => $2) <= now() THEN 1 ELSE a.failures + 1 END, \
           window_start = CASE WHEN a.window_start + make_interval(secs => $2) <= now() THEN now() ELSE a.window_start END \
         RETURNING failures, window_start",
    )
    .bind::<Text, _>(key)
    .bind::<Double, _>(window_secs))
    .get_result(conn)
    .await
}

/// Gives back an attempt reserved by [`reserve`] (a valid key does not count).
pub async fn release(conn: &mut AsyncPgConnection, key: &str) -> diesel::QueryResult<usize> {
    Prepared(
        diesel::sql_query(
            "UPDATE api_key_attempts SET failures = greatest(failures - 1, 0) WHERE throttle_key = $1",
        )
        .bind::<Text, _>(key),
    )
    .execute(conn)
    .await
}
