//! operant-auth
