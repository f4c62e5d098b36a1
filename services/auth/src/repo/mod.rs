//! Repository layer: the SQL of each auth table, one file per table. Functions take a
//! connection (which may be inside a transaction) and return diesel results; the domain layer
//! decides what a missing row or a constraint violation means.

pub mod login_attempts;
pub mod one_time_tokens;
pub mod refresh_tokens;
pub mod sessions;
pub mod signing_keys;
pub mod users;
