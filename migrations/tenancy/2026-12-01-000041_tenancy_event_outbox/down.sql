DROP TABLE tenancy_event_outbox;
