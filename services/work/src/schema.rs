//! Diesel table definitions, written by hand to match `migrations/work/2026-11-27-000003_work/up.sql`
//! and `2026-12-01-000009_work_actor_type`.
//! The work service owns exactly these tables (and its outbox); organization and user ids are foreign to it
//! (they belong to tenancy and auth) and carry no foreign keys.

diesel::table! {
    projects (id) {
        id -> Uuid,
        organization_id -> Uuid,
        name -> Text,
        description -> Nullable<Text>,
        created_by -> Uuid,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        version -> Int8,
        actor_type -> Text,
    }
}

diesel::table! {
    tasks (id) {
        id -> Uuid,
        organization_id -> Uuid,
        project_id -> Uuid,
        title -> Text,
        description -> Nullable<Text>,
        status -> Text,
        priority -> Int2,
        assignee_id -> Nullable<Uuid>,
        due_date -> Nullable<Timestamptz>,
        created_by -> Uuid,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        version -> Int8,
        actor_type -> Text,
    }
}

diesel::table! {
    /// The transactional outbox of the work service's events (`2026-12-01-000031_work_event_outbox`).
    work_event_outbox (id) {
        id -> Uuid,
        organization_id -> Uuid,
        #[sql_name = "type"]
        event_type -> Text,
        actor_type -> Text,
        actor_id -> Nullable<Uuid>,
        occurred_at -> Timestamptz,
        data -> Jsonb,
        changed_fields -> Array<Text>,
    }
}

diesel::allow_tables_to_appear_in_same_query!(projects, tasks);
