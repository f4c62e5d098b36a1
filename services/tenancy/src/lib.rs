//! operant-tenancy
