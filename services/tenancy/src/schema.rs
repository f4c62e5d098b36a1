//! Diesel definitions of the tenancy tables, written by hand to match
//! `migrations/tenancy/2026-11-27-000002_tenancy/up.sql` and
//! `migrations/tenancy/2026-12-01-000003_tenancy_invitations/up.sql` and
//! `migrations/tenancy/2026-12-01-000004_tenancy_api_keys/up.sql` (the tenancy service owns these tables
//! and no other service reads them).

diesel::table! {
    organizations (id) {
        id -> Uuid,
        name -> Text,
        slug -> Text,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    subscriptions (organization_id) {
        organization_id -> Uuid,
        plan -> Text,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    memberships (organization_id, user_id) {
        organization_id -> Uuid,
        user_id -> Uuid,
        role -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    audit_events (id) {
        id -> Uuid,
        organization_id -> Uuid,
        actor_id -> Uuid,
        action -> Text,
        target_type -> Text,
        target_id -> Text,
        details -> Jsonb,
        created_at -> Timestamptz,
        actor_type -> Text,
    }
}

diesel::table! {
    api_keys (id) {
        id -> Uuid,
        organization_id -> Uuid,
        name -> Text,
        role -> Text,
        prefix -> Text,
        digest -> Bytea,
        created_by -> Uuid,
        created_by_type -> Text,
        created_at -> Timestamptz,
        expires_at -> Nullable<Timestamptz>,
        revoked_at -> Nullable<Timestamptz>,
        last_used_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    invitations (id) {
        id -> Uuid,
        organization_id -> Uuid,
        email -> Text,
        role -> Text,
        status -> Text,
        token_hash -> Bytea,
        invited_by -> Uuid,
        created_at -> Timestamptz,
        expires_at -> Timestamptz,
        responded_at -> Nullable<Timestamptz>,
        responded_by -> Nullable<Uuid>,
    }
}

diesel::joinable!(memberships -> organizations (organization_id));
diesel::joinable!(invitations -> organizations (organization_id));
diesel::joinable!(subscriptions -> organizations (organization_id));
diesel::joinable!(audit_events -> organizations (organization_id));
diesel::joinable!(api_keys -> organizations (organization_id));

diesel::allow_tables_to_appear_in_same_query!(
    organizations,
    subscriptions,
    memberships,
    audit_events,
    invitations,
    api_keys
);
