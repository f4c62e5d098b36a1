-- Owned by the events service (services/events): the change feed of every organization.
--
-- Feed order is `position`, assigned when the events service accepts an event, not the order of
-- event ids (UUIDv7s made by the producing service, whose transactions commit in any order).
-- Every ingest transaction takes one transaction-level advisory lock before it draws positions
-- (services/events/src/repo.rs), so ingests are serialized: a position is only drawn after every
-- smaller one is committed (or rolled back and never used), and a reader that has seen position
-- N can never later find a committed event below N. The cursor of the feed is this position.
CREATE TABLE events (
    position        bigserial PRIMARY KEY,
    -- The producer's UUIDv7: a relay that sends an event twice (crash after send, before it
    -- deleted its outbox row) is answered "duplicate" and nothing is added.
    id              uuid NOT NULL UNIQUE,
    organization_id uuid NOT NULL,
    type            text NOT NULL CHECK (type ~ '^[a-z_]+\.[a-z_]+$'),
    -- USER, API_KEY or SYSTEM; actor_id NULL for SYSTEM.
    actor_type      text NOT NULL,
    actor_id        uuid,
    -- The producer's commit clock.
    occurred_at     timestamptz NOT NULL,
    -- The resource after the change (a deletion: its id).
    data            jsonb NOT NULL,
    changed_fields  text[] NOT NULL DEFAULT '{}',
    ingested_at     timestamptz NOT NULL DEFAULT now()
);
-- The feed and WatchEvents: WHERE organization_id = $1 AND position > $2 ORDER BY position LIMIT n.
CREATE INDEX events_organization_position_idx ON events (organization_id, position);
-- The feed filtered by type: WHERE organization_id = $1 AND type = ANY($2) AND position > $3 ORDER BY position.
CREATE INDEX events_organization_type_position_idx ON events (organization_id, type, position);
-- Retention (OPERANT_EVENT_RETENTION_DAYS): WHERE occurred_at < now() - interval LIMIT n.
CREATE INDEX events_occurred_at_idx ON events (occurred_at);
