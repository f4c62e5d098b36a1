-- Owned by the work service (services/work): the Idempotency-Key of project and task creation.
-- Safe retries (libs/platform/src/idempotency.rs): each row is written in the transaction of
-- the effect it answers, and kept OPERANT_IDEMPOTENCY_TTL_SECS (24 h).

CREATE TABLE work_idempotency_keys (
    -- The row id in the sealing's associated data (a kept body may be sealed with the master key).
    id          uuid NOT NULL UNIQUE,
    -- SHA-256 of the caller's scope (user:<id>, api_key:<id>, ...).
    scope       bytea NOT NULL CHECK (length(scope) = 32),
    -- The gRPC method path.
    route       text NOT NULL,
    -- The client's key, 1 to 255 visible ASCII characters.
    key         text NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
    -- SHA-256 of the request (route, organization and path ids, the message without its key).
    fingerprint bytea NOT NULL CHECK (length(fingerprint) = 32),
    -- 0: a success, body = the encoded response message (sealed where it holds a secret); else the refusal's gRPC code, message
    -- and status details.
    code        integer NOT NULL,
    message     text NOT NULL,
    body        bytea NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    -- Every request with a key: WHERE scope = $1 AND route = $2 AND key = $3.
    PRIMARY KEY (scope, route, key)
);
-- The purge: WHERE expires_at <= now() LIMIT 1000 FOR UPDATE SKIP LOCKED.
CREATE INDEX work_idempotency_keys_expires_idx ON work_idempotency_keys (expires_at);
