-- Owned by the auth service (services/auth). No other service reads or writes these tables.

CREATE TABLE users (
    id              uuid PRIMARY KEY,
    email           text NOT NULL CHECK (email = lower(btrim(email)) AND length(email) BETWEEN 3 AND 320),
    full_name       text CHECK (full_name IS NULL OR length(full_name) <= 200),
    password_hash   text NOT NULL,
    email_verified  boolean NOT NULL DEFAULT false,
    is_active       boolean NOT NULL DEFAULT true,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
-- Login, registration uniqueness and GetUserByEmail: WHERE lower(email) = $1.
CREATE UNIQUE INDEX users_email_lower_key ON users (lower(email));

-- One row per login session (a refresh-token family). `sid` claim of access tokens.
CREATE TABLE sessions (
    id              uuid PRIMARY KEY,
    user_id         uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at      timestamptz NOT NULL DEFAULT now(),
    last_used_at    timestamptz NOT NULL DEFAULT now(),
    expires_at      timestamptz NOT NULL,
    revoked_at      timestamptz,
    revoked_reason  text CHECK (revoked_reason IN ('logout', 'revoked', 'password_changed', 'password_reset', 'refresh_token_reused', 'user_deactivated')),
    user_agent      text NOT NULL DEFAULT '' CHECK (length(user_agent) <= 512),
    ip_address      text NOT NULL DEFAULT '' CHECK (length(ip_address) <= 64)
);
-- ListSessions and "revoke every other session": WHERE user_id = $1 AND revoked_at IS NULL.
CREATE INDEX sessions_user_active_idx ON sessions (user_id) WHERE revoked_at IS NULL;
-- WatchRevokedSessions snapshot: WHERE revoked_at > now() - access token lifetime.
CREATE INDEX sessions_revoked_at_idx ON sessions (revoked_at) WHERE revoked_at IS NOT NULL;

-- Refresh tokens, stored only as SHA-256 hashes. A used token stays as evidence for reuse
-- detection until the session expires.
CREATE TABLE refresh_tokens (
    token_hash      bytea PRIMARY KEY CHECK (length(token_hash) = 32),
    session_id      uuid NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    created_at      timestamptz NOT NULL DEFAULT now(),
    expires_at      timestamptz NOT NULL,
    used_at         timestamptz
);
-- Revoking a family and sweeping: WHERE session_id = $1.
CREATE INDEX refresh_tokens_session_idx ON refresh_tokens (session_id);

-- Ed25519 signing keys. The newest unretired key signs; retired keys verify until
-- `verify_until`.
CREATE TABLE signing_keys (
    kid             text PRIMARY KEY,
    private_key     bytea NOT NULL,
    public_key      bytea NOT NULL CHECK (length(public_key) = 32),
    created_at      timestamptz NOT NULL DEFAULT now(),
    retired_at      timestamptz,
    verify_until    timestamptz
);

-- Single-use email verification and password reset tokens, stored hashed.
CREATE TABLE one_time_tokens (
    token_hash      bytea PRIMARY KEY CHECK (length(token_hash) = 32),
    user_id         uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose         text NOT NULL CHECK (purpose IN ('email_verification', 'password_reset')),
    created_at      timestamptz NOT NULL DEFAULT now(),
    expires_at      timestamptz NOT NULL,
    used_at         timestamptz
);
-- Invalidating a user's outstanding tokens of one purpose: WHERE user_id = $1 AND purpose = $2.
CREATE INDEX one_time_tokens_user_idx ON one_time_tokens (user_id, purpose);

-- Login throttling counters, one row per key (`email:<addr>` or `ip:<addr>`), updated
-- atomically with INSERT .. ON CONFLICT DO UPDATE.
CREATE TABLE login_attempts (
    throttle_key    text PRIMARY KEY,
    failures        integer NOT NULL DEFAULT 0 CHECK (failures >= 0),
    window_start    timestamptz NOT NULL DEFAULT now(),
    locked_until    timestamptz
);
