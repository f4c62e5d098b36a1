//! operant-platform
