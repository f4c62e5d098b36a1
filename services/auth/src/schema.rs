//! Diesel table definitions of the auth tables (migrations/auth/2026-11-27-000001_auth), written by
//! hand to match the SQL.

diesel::table! {
    users (id) {
        id -> Uuid,
        email -> Text,
        full_name -> Nullable<Text>,
        password_hash -> Text,
        email_verified -> Bool,
        is_active -> Bool,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    sessions (id) {
        id -> Uuid,
        user_id -> Uuid,
        created_at -> Timestamptz,
        last_used_at -> Timestamptz,
        expires_at -> Timestamptz,
        revoked_at -> Nullable<Timestamptz>,
        revoked_reason -> Nullable<Text>,
        user_agent -> Text,
        ip_address -> Text,
    }
}

diesel::table! {
    refresh_tokens (token_hash) {
        token_hash -> Bytea,
        session_id -> Uuid,
        created_at -> Timestamptz,
        expires_at -> Timestamptz,
        used_at -> Nullable<Timestamptz>,
        successor_hash -> Nullable<Bytea>,
        successor_sealed -> Nullable<Bytea>,
    }
}

diesel::table! {
    signing_keys (kid) {
        kid -> Text,
        private_key -> Bytea,
        public_key -> Bytea,
        created_at -> Timestamptz,
        retired_at -> Nullable<Timestamptz>,
        verify_until -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    one_time_tokens (token_hash) {
        token_hash -> Bytea,
        user_id -> Uuid,
        purpose -> Text,
        created_at -> Timestamptz,
        expires_at -> Timestamptz,
        used_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    login_attempts (throttle_key) {
        throttle_key -> Text,
        failures -> Int4,
        window_start -> Timestamptz,
        locked_until -> Nullable<Timestamptz>,
    }
}

diesel::joinable!(sessions -> users (user_id));
diesel::joinable!(refresh_tokens -> sessions (session_id));
diesel::joinable!(one_time_tokens -> users (user_id));
diesel::allow_tables_to_appear_in_same_query!(users, sessions, refresh_tokens, signing_keys, one_time_tokens);
