//! Queries, one module per table. Functions that touch one organization's rows take the
//! organization id first, so every tenant-scoped query is visibly filtered by it. Nothing here
//! decides permissions: that is the domain's job.

pub mod api_key_attempts;
pub mod api_keys;
pub mod audit_events;
pub mod invitations;
pub mod memberships;
pub mod organizations;
pub mod standings;
pub mod subscriptions;
