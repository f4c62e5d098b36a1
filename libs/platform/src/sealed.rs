//! Sealed columns (bytea columns holding values sealed with the master key, see `operant_seal`)
//! and re-sealing them with the current key: for the master-key rotation (`operant
//! rotate-master-key`, [`rotate_master_key`], over the columns every service lists) and for
//! sealing values stored before sealing existed.
//!
//! Re-sealing works in bounded batches, each its own transaction that locks its rows with
//! `FOR UPDATE SKIP LOCKED`, so it runs while the suite serves: replicas read the sealed values
//! without locks and, configured with the new key and the previous one, open both forms.

use std::time::Duration;

use diesel::sql_types::{BigInt, Bytea, Text};
use diesel::{QueryResult, QueryableByName};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use operant_seal::{Aad, Keyring, is_sealed, sealed_prefix};

use crate::config::{ServiceDatabase, Settings};

/// A bytea column holding sealed values; the row id in the [`Aad`] is `key` as text.
#[derive(Debug, Clone, Copy)]
pub struct SealedColumn {
    pub table: &'static str,
    pub column: &'static str,
    /// The primary key column.
    pub key: &'static str,
    /// Its SQL type (to compare with the row id given as text).
    pub key_type: &'static str,
}

impl SealedColumn {
    pub fn aad<'a>(&self, row: &'a str) -> Aad<'a> {
        Aad { table: self.table, column: self.column, row }
    }
}

/// Rows per re-seal transaction.
pub const BATCH: i64 = 100;

#[derive(QueryableByName)]
struct Stored {
    #[diesel(sql_type = Text)]
    row_id: String,
    #[diesel(sql_type = Bytea)]
    value: Vec<u8>,
}

/// Seals (again), with the current key, up to `limit` values of `col` that do not start with
/// `prefix`, skipping rows another transaction has locked. Plaintext values (stored before
/// sealing existed) are sealed; sealed ones are opened (current or previous key) and sealed
/// again. Returns how many were written. Run it inside a transaction: the rows stay locked
/// until it ends.
pub async fn reseal_batch(
    conn: &mut AsyncPgConnection,
    keyring: &Keyring,
    col: &SealedColumn,
    prefix: &[u8],
    limit: i64,
) -> anyhow::Result<usize> {
    let SealedColumn { table, column, key, key_type } = *col;
    let rows: Vec<Stored> = diesel::sql_query(format!(
        "SELECT {key}::text AS row_id, {column} AS value FROM {table} \
         WHERE {column} IS NOT NULL AND substring({column} FROM 1 FOR {len}) <> $1 \
         ORDER BY {key} LIMIT $2 FOR UPDATE SKIP LOCKED",
        len = prefix.len()
    ))
    .bind::<Bytea, _>(prefix)
    .bind::<BigInt, _>(limit)
    .load(conn)
    .await?;
    for row in &rows {
        let aad = col.aad(&row.row_id);
        let resealed = if is_sealed(&row.value) {
            let plain = keyring
                .open(&aad, &row.value)
                .map_err(|e| anyhow::anyhow!("{table}.{column} of row {}: {e}", row.row_id))?;
            keyring.seal(&aad, &plain)?
        } else {
            keyring.seal(&aad, &row.value)?
        };
        diesel::sql_query(format!("UPDATE {table} SET {column} = $1 WHERE {key} = CAST($2 AS {key_type})"))
            .bind::<Bytea, _>(&resealed)
            .bind::<Text, _>(&row.row_id)
            .execute(conn)
            .await?;
    }
    Ok(rows.len())
}

/// How many values of `col` do not start with `prefix` (locked rows included).
async fn count_not_prefixed(
    conn: &mut AsyncPgConnection,
    col: &SealedColumn,
    prefix: &[u8],
) -> QueryResult<i64> {
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let SealedColumn { table, column, .. } = *col;
    diesel::sql_query(format!(
        "SELECT count(*) AS n FROM {table} \
         WHERE {column} IS NOT NULL AND substring({column} FROM 1 FOR {len}) <> $1",
        len = prefix.len()
    ))
    .bind::<Bytea, _>(prefix)
    .get_result::<Count>(conn)
    .await
    .map(|c| c.n)
}

/// The master-key rotation: re-seals, in batches of [`BATCH`] rows per transaction, every value
/// of every column of `columns` (each service lists its own) that is not sealed with the
/// current key (`OPERANT_MASTER_KEY`), opening them with the current or the previous key (`OPERANT_MASTER_KEY_PREVIOUS`). Returns
/// how many values were re-sealed; afterwards none is sealed with another key, so the previous
/// key can be removed. A value sealed with neither key stops it with an error naming the row
/// and the key ids (the batches before stay committed; running it again continues).
/// The columns are those of `owner`, in its database.
pub async fn rotate_master_key(
    settings: &Settings,
    owner: ServiceDatabase,
    columns: &[SealedColumn],
) -> anyhow::Result<u64> {
    let keyring = settings.keyring()?;
    let prefix = sealed_prefix(keyring.current_id());
    let mut conn = AsyncPgConnection::establish(settings.database_url(owner)?).await?;
    let mut total = 0u64;
    for col in columns {
        // Rows locked by someone else are skipped by a batch; wait for them a little.
        for attempt in 0.. {
            loop {
                let done = conn
                    .transaction::<_, anyhow::Error, _>(async |conn| {
                        reseal_batch(conn, &keyring, col, &prefix, BATCH).await
                    })
                    .await?;
                total += done as u64;
                if done == 0 {
                    break;
                }
                tracing::info!(table = col.table, column = col.column, rows = done, "re-sealed a batch");
            }
            let left = count_not_prefixed(&mut conn, col, &prefix).await?;
            if left == 0 {
                break;
            }
            anyhow::ensure!(
                attempt < 50,
                "{}.{}: {left} values are still not sealed with master key {} (their rows stay locked by \
                 another transaction); run the command again",
                col.table,
                col.column,
                keyring.current_id()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    tracing::info!(key_id = %keyring.current_id(), values = total, "master key rotation finished");
    Ok(total)
}
