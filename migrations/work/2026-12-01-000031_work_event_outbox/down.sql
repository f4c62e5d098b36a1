DROP TABLE work_event_outbox;
