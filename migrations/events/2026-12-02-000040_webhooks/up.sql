-- Owned by the events service (services/events/src/webhooks/): organizations' webhook
-- endpoints, one delivery per (event, subscribed endpoint), and the log of every attempt.

CREATE TABLE webhook_endpoints (
    id                         uuid PRIMARY KEY,
    organization_id            uuid NOT NULL,
    url                        text NOT NULL,
    event_types                text[] NOT NULL,
    description                text NOT NULL DEFAULT '',
    enabled                    boolean NOT NULL DEFAULT true,
    -- Why the service disabled it: 'gone' (a 410) or 'failing' (24 h of failures); NULL otherwise.
    disabled_reason            text,
    -- The signing key, sealed with the master key (libs/seal, bound to this row and column).
    secret                     bytea NOT NULL,
    -- After a rotation: the previous key (sealed), signing alongside until the expiry.
    previous_secret            bytea,
    previous_secret_expires_at timestamptz,
    -- Since when every attempt failed (NULL after a success): 24 h of it disables the endpoint.
    failing_since              timestamptz,
    created_at                 timestamptz NOT NULL DEFAULT now(),
    updated_at                 timestamptz NOT NULL DEFAULT now()
);
-- Listing (oldest first) and the per-organization count; the ingest's match by organization.
CREATE INDEX webhook_endpoints_organization_idx ON webhook_endpoints (organization_id, created_at, id);

-- One row per (event, endpoint), written in the ingest transaction of the event.
CREATE TABLE webhook_deliveries (
    id              uuid PRIMARY KEY,
    endpoint_id     uuid NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    -- The event (its feed position; the delivery goes when the event is purged).
    event_position  bigint NOT NULL REFERENCES events (position) ON DELETE CASCADE,
    -- PENDING (due at next_attempt_at), DELIVERED or FAILED (given up).
    state           text NOT NULL DEFAULT 'PENDING' CHECK (state IN ('PENDING', 'DELIVERED', 'FAILED')),
    attempts        integer NOT NULL DEFAULT 0,
    -- When a worker may claim it. A claim moves it forward by the lease, so a worker killed
    -- mid-delivery leaves a row that another worker claims once the lease has run out.
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    -- The claim in progress: a worker writes its result only while its claim is the row's.
    claim           uuid,
    created_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (endpoint_id, event_position)
);
-- The workers' claim: WHERE state = 'PENDING' AND next_attempt_at <= now() ORDER BY next_attempt_at.
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (next_attempt_at) WHERE state = 'PENDING';
CREATE INDEX webhook_deliveries_event_idx ON webhook_deliveries (event_position);

-- Every attempt, for the deliveries log (GET .../webhooks/{id}/deliveries).
CREATE TABLE webhook_attempts (
    id            uuid PRIMARY KEY,
    delivery_id   uuid NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    endpoint_id   uuid NOT NULL,
    event_id      uuid NOT NULL,
    event_type    text NOT NULL,
    attempt       integer NOT NULL,
    attempted_at  timestamptz NOT NULL,
    -- NULL when no answer came (timeout, connection refused, address not allowed).
    status_code   integer,
    latency_ms    bigint NOT NULL,
    error         text,
    delivered     boolean NOT NULL,
    next_retry_at timestamptz
);
-- The log, newest first: WHERE endpoint_id = $1 ORDER BY attempted_at DESC, id DESC.
CREATE INDEX webhook_attempts_endpoint_idx ON webhook_attempts (endpoint_id, attempted_at, id);
