//! Domain layer: the rules of accounts, logins and sessions. Each operation validates its input,
//! runs its queries (in one transaction when it writes more than one row) and returns domain
//! values or an [`AuthError`](crate::error::AuthError); transport concerns stay in `grpc`.

pub mod accounts;
pub mod login;
pub mod recovery;
pub mod sessions;
mod throttle;
