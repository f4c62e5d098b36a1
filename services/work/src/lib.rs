//! operant-work
