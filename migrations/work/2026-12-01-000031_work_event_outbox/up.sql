-- Owned by the work service: the transactional outbox of its events (project.*, task.*). A row
-- is written in the same transaction as the change it describes, so there is no change without
-- its event and no event without its change; the relay (services/work/src/relay.rs) sends rows
-- to the events service's IngestEvents (idempotent by id) and deletes them once accepted.
CREATE TABLE work_event_outbox (
    -- The event's UUIDv7.
    id              uuid PRIMARY KEY,
    organization_id uuid NOT NULL,
    type            text NOT NULL,
    actor_type      text NOT NULL,
    actor_id        uuid,
    occurred_at     timestamptz NOT NULL DEFAULT now(),
    data            jsonb NOT NULL,
    changed_fields  text[] NOT NULL DEFAULT '{}'
);
-- The relay: ORDER BY occurred_at, id LIMIT n FOR UPDATE SKIP LOCKED.
CREATE INDEX work_event_outbox_occurred_idx ON work_event_outbox (occurred_at, id);
