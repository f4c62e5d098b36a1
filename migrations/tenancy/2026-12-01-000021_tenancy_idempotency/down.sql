DROP TABLE tenancy_idempotency_keys;
