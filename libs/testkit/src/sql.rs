//! Direct SQL access to a test database: a connection, and snapshots of every table to prove a
//! request changed nothing.

/// A connected tokio-postgres client (its connection runs on a spawned task).
pub async fn connect(url: &str) -> tokio_postgres::Client {
    let (client, connection) =
        tokio_postgres::connect(url, tokio_postgres::NoTls).await.expect("connect to the test database");
    tokio::spawn(connection);
    client
}

/// Every table of the public schema with its row count and a digest of its rows (so an UPDATE
/// shows as well as an INSERT or DELETE).
pub async fn snapshot(db: &tokio_postgres::Client) -> Vec<(String, i64, String)> {
    let tables = db
        .query(
            "SELECT tablename::text FROM pg_tables WHERE schemaname = 'public' \
             AND tablename NOT LIKE '\\_\\_%' ORDER BY 1",
            &[],
        )
        .await
        .expect("list tables");
    let mut out = Vec::new();
    for row in tables {
        let table: String = row.get(0);
        let sql = format!(
            "SELECT count(*), coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '') FROM \"{table}\" t"
        );
        let r = db.query_one(&sql, &[]).await.expect("digest a table");
        out.push((table, r.get(0), r.get(1)));
    }
    out
}

/// Every row of a (small) table, as text.
pub async fn rows(db: &tokio_postgres::Client, table: &str) -> Vec<String> {
    let sql = format!("SELECT t::text FROM \"{table}\" t ORDER BY 1");
    db.query(&sql, &[]).await.expect("read a table").iter().map(|r| r.get(0)).collect()
}

/// How many unspent refresh tokens the sessions of `user_id` have (one per live session).
pub async fn live_refresh_tokens(app: &crate::TestApp, user_id: &str) -> i64 {
    app.sql()
        .await
        .query_one(
            "SELECT count(*) FROM refresh_tokens rt JOIN sessions s ON s.id = rt.session_id \
             WHERE s.user_id = $1::text::uuid AND rt.used_at IS NULL",
            &[&user_id],
        )
        .await
        .expect("count live refresh tokens")
        .get(0)
}
