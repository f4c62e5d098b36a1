//! operant-testkit
