-- The cascade from a deleted delivery (an endpoint deleted, an event purged) finds its attempts by
-- delivery_id; without this index each deleted delivery scanned the whole log, and deleting an
-- endpoint with 20,000 deliveries ran into the statement timeout (503 DATABASE_UNAVAILABLE).
CREATE INDEX webhook_attempts_delivery_idx ON webhook_attempts (delivery_id);
