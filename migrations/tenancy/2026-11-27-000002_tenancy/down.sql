DROP TABLE audit_events;
DROP TABLE memberships;
DROP TABLE subscriptions;
DROP TABLE organizations;
