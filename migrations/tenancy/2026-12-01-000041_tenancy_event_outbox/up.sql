-- Owned by the tenancy service: the transactional outbox of its events (organization.*,
-- member.*, invitation.*, api_key.*, subscription.changed). A row is written in the same
-- transaction as the change it describes, so there is no change without its event and no event
-- without its change; the relay (libs/platform/src/outbox.rs, shared with work) sends rows to the
-- events service's IngestEvents (idempotent by id) and deletes them once accepted.
--
-- No foreign key to organizations: an organization's `organization.deleted` event is written in
-- the transaction that deletes the organization and must outlive it until it is relayed.
CREATE TABLE tenancy_event_outbox (
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
CREATE INDEX tenancy_event_outbox_occurred_idx ON tenancy_event_outbox (occurred_at, id);
