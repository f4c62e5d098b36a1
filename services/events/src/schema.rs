//! Diesel table definition, written by hand to match `migrations/events/2026-12-01-000030_events`.
//! The events service owns exactly this table; organization, user and key ids are foreign to it.

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
