DROP TABLE work_idempotency_keys;
