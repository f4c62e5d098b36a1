//! Diesel table definition, written by hand to match `migrations/events/2026-12-01-000030_events`.
//! The events service owns exactly these tables; organization, user and key ids are foreign to it.

diesel::table! {
    events (position) {
        position -> Int8,
        id -> Uuid,
        organization_id -> Uuid,
        #[sql_name = "type"]
        event_type -> Text,
        actor_type -> Text,
        actor_id -> Nullable<Uuid>,
        occurred_at -> Timestamptz,
        data -> Jsonb,
        changed_fields -> Array<Text>,
        ingested_at -> Timestamptz,
    }
}

diesel::table! {
    webhook_endpoints (id) {
        id -> Uuid,
        organization_id -> Uuid,
        url -> Text,
        event_types -> Array<Text>,
        description -> Text,
        enabled -> Bool,
        disabled_reason -> Nullable<Text>,
        secret -> Bytea,
        previous_secret -> Nullable<Bytea>,
        previous_secret_expires_at -> Nullable<Timestamptz>,
        failing_since -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    webhook_deliveries (id) {
        id -> Uuid,
        endpoint_id -> Uuid,
        event_position -> Int8,
        state -> Text,
        attempts -> Int4,
        next_attempt_at -> Timestamptz,
        claim -> Nullable<Uuid>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    webhook_attempts (id) {
        id -> Uuid,
        delivery_id -> Uuid,
        endpoint_id -> Uuid,
        event_id -> Uuid,
        event_type -> Text,
        attempt -> Int4,
        attempted_at -> Timestamptz,
        status_code -> Nullable<Int4>,
        latency_ms -> Int8,
        error -> Nullable<Text>,
        delivered -> Bool,
        next_retry_at -> Nullable<Timestamptz>,
    }
}

diesel::joinable!(webhook_deliveries -> webhook_endpoints (endpoint_id));
diesel::joinable!(webhook_deliveries -> events (event_position));
diesel::allow_tables_to_appear_in_same_query!(
    events,
    webhook_endpoints,
    webhook_deliveries,
    webhook_attempts
);
