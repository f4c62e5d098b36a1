//! A private PostgreSQL server started from the installed server binaries, and the admin SQL
//! that tests and `operant dev` run against it.
//!
//! Why: tests and local development need a real PostgreSQL (the services rely on its
//! constraints, locking and transactions, so a fake or SQLite would hide bugs), but they must
//! not depend on a server someone else manages, on Docker, or on a system service. The only
//! requirement is that the PostgreSQL server binaries (`initdb`, `pg_ctl`, `postgres`) are
//! installed: [`PrivatePostgres::start`] creates a cluster in a directory of our choosing,
//! starts it on a free loopback port and hands back its URL.
//!
//! Only the `operant` binary and the tests link this crate; the services never do.
//!
//! Design choices:
//!
//! - **Shared across processes.** Test runners such as nextest run every test in its own
//!   process; starting a cluster per test would cost seconds each. The server therefore
//!   outlives the process that started it (it runs in its own process group, so a runner
//!   killing a timed-out test's group does not take it down), later callers reuse it, and it is
//!   only stopped on request ([`PrivatePostgres::stop`], [`PrivatePostgres::stop_on_drop`]).
//!   Concurrent [`PrivatePostgres::start`] calls on one directory, from any process, are
//!   serialized by an exclusive lock on the sibling file `<data_dir>.lock`.
//! - **Crash-safe initialization.** `initdb` runs into a temporary sibling directory that is
//!   renamed into place only once it is complete, so an interrupted `initdb` never leaves a
//!   half-made cluster behind.
//! - **Durable.** `fsync`, `synchronous_commit` and `full_page_writes` stay on: an
//!   acknowledged write survives a crash, as it does in production, so tests exercise the real
//!   commit path.
//! - **Root.** `initdb` and `postgres` refuse to run as root. When the effective user is root
//!   (CI, containers), the data directory is given to the `postgres` user and every server
//!   command runs as that user through `runuser` (or `su`).
//! - **Isolated.** The server listens on 127.0.0.1 only, on a port below the Linux ephemeral
//!   range (32768–60999) so outgoing connections cannot steal it, chosen from a hash of the data
//!   directory path so that the same directory tends to get the same port. Its unix socket
//!   lives in the data directory, never in the shared `/var/run/postgresql`.
//!
//! The settings written on every start live in `<data_dir>/operant.conf` (included from
//! `postgresql.conf`), the chosen port in `<data_dir>/operant.port` and the server log in
//! `<data_dir>/postgresql.log`.
//!
//! Layers, from the handle down:
//!
//! - [`server`]: [`PrivatePostgres`], the handle: reuse a running server or initialize and
//!   start one (under the directory lock), its URLs, stopping it.
//! - `cluster`: the data directory's life cycle: `initdb` into a temporary sibling, the
//!   settings file, `pg_ctl start`/`stop`, a stale `postmaster.pid`.
//! - `probe`: whether a server on a port accepts connections and runs from our directory.
//! - `port`: the port choice (hash of the directory, below the ephemeral range).
//! - `binaries`: where `initdb`, `pg_ctl` and `postgres` are, and which major version.
//! - `runner`: how server commands run: directly, or as the `postgres` user when root.
//! - [`admin`]: admin SQL on a server: create, clone, drop and list databases, advisory locks,
//!   template databases; database URLs.

pub mod admin;
mod binaries;
mod cluster;
mod port;
mod probe;
mod runner;
pub mod server;

pub use admin::{Admin, ensure_database, url_with_database};
pub use server::PrivatePostgres;

/// The cluster's superuser (`initdb -U`), trusted on 127.0.0.1.
const SUPERUSER: &str = "postgres";
