DROP TABLE api_key_attempts;
ALTER TABLE audit_events DROP COLUMN actor_type;
DROP TABLE api_keys;
