-- Keyset (cursor) paging, issue 16, for tenancy's lists: an index on (organization, sort
-- field, id) per sort field other than the default (audit_events_org_created_idx,
-- invitations_org_created_idx and api_keys_org_created_idx serve those).
--
-- These two indexes were created by the combined 2026-12-01-000016_keyset_indexes before the
-- migrations were split per service (that version now belongs to work and creates only the
-- task indexes). On a database that applied it, this version finds them and does nothing;
-- hence IF NOT EXISTS.

-- ListInvitations(order_by=[-]expires_at | email).
CREATE INDEX IF NOT EXISTS invitations_org_expires_idx ON invitations (organization_id, expires_at, id);
CREATE INDEX IF NOT EXISTS invitations_org_email_idx ON invitations (organization_id, email, id);
