-- Owned by the tenancy service (services/tenancy): organization API keys, which act in their
-- organization with a role, count against the plan's `max_api_keys` and are deleted with it.

CREATE TABLE api_keys (
    id              uuid PRIMARY KEY,
    organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    name            text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 200),
    role            text NOT NULL CHECK (role IN ('ADMIN', 'MEMBER')),
    -- The first characters of the secret (`opk_` + 8), shown in lists to recognise a key.
    prefix          text NOT NULL,
    -- SHA-256 of the whole secret; the secret itself is never stored.
    digest          bytea NOT NULL CHECK (length(digest) = 32),
    -- A user id, or the id of the API key that created this one (`created_by_type`).
    created_by      uuid NOT NULL,
    created_by_type text NOT NULL CHECK (created_by_type IN ('USER', 'API_KEY')),
    created_at      timestamptz NOT NULL DEFAULT now(),
    expires_at      timestamptz,
    revoked_at      timestamptz,
    -- Coarse: written at most once a minute per key.
    last_used_at    timestamptz
);
-- ResolveApiKey (every first use of a key in a service): WHERE digest = $1.
CREATE UNIQUE INDEX api_keys_digest_key ON api_keys (digest);
-- ListApiKeys: WHERE organization_id = $1 ORDER BY created_at DESC, id DESC; the limit count.
CREATE INDEX api_keys_org_created_idx ON api_keys (organization_id, created_at DESC, id DESC);

-- Who acted: a user or an API key (audit_events.actor_id is then the key's id).
ALTER TABLE audit_events
    ADD COLUMN actor_type text NOT NULL DEFAULT 'USER' CHECK (actor_type IN ('USER', 'API_KEY'));

-- Throttling of invalid API keys per client address, one row per key, changed only by single
-- atomic statements (the shape of auth's `login_attempts`).
CREATE TABLE api_key_attempts (
    throttle_key    text PRIMARY KEY,
    failures        integer NOT NULL,
    window_start    timestamptz NOT NULL
);
