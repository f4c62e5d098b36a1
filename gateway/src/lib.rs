//! operant-gateway
