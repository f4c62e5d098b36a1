//! A private server's life cycle in a fresh data directory: initialized and started, reused by
//! a second start, stopped, started again from the existing cluster and stopped on drop.

use std::time::{Duration, SystemTime};

use operant_devdb::{PrivatePostgres, ensure_database};

async fn accepts_connections(port: u16) -> bool {
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    matches!(
        tokio::time::timeout(Duration::from_secs(2), tokio::net::TcpStream::connect(addr)).await,
        Ok(Ok(_))
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_is_started_reused_and_stopped() {
    let nanos = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).expect("clock").as_nanos();
    let dir = std::env::temp_dir().join(format!("operant-devdb-{}-{nanos}", std::process::id()));

    let pg = PrivatePostgres::start(&dir).await.expect("start");
    assert!(pg.data_dir().join("PG_VERSION").is_file());
    assert!((20000..32000).contains(&pg.port()), "port {} outside the private range", pg.port());
    let again = PrivatePostgres::start(&dir).await.expect("reuse");
    assert_eq!((again.port(), again.data_dir()), (pg.port(), pg.data_dir()));
    drop(again);
    assert!(accepts_connections(pg.port()).await, "dropping a handle stopped the server");

    ensure_database(&pg.url(), "app").await.expect("database");
    let (client, connection) =
        tokio_postgres::connect(&pg.url_for("app"), tokio_postgres::NoTls).await.expect("connect to app");
    let connection = tokio::spawn(connection);
    let row = client.query_one("SELECT current_database()", &[]).await.expect("select");
    assert_eq!(row.get::<_, String>(0), "app");
    drop(client);
    let _ = connection.await;

    let (port, data_dir) = (pg.port(), pg.data_dir().to_owned());
    pg.stop().await.expect("stop");
    assert!(!accepts_connections(port).await, "the server still listens after stop");
    assert!(!data_dir.join("postmaster.pid").exists());

    let mut pg = PrivatePostgres::start(&dir).await.expect("start the existing cluster");
    let port = pg.port();
    pg.stop_on_drop(true);
    drop(pg);
    assert!(!accepts_connections(port).await, "the server still listens after a stopping drop");

    let _ = std::fs::remove_dir_all(&data_dir);
    let mut lock = data_dir.into_os_string();
    lock.push(".lock");
    let _ = std::fs::remove_file(lock);
}
