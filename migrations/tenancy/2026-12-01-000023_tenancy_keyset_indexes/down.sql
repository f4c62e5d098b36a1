DROP INDEX IF EXISTS invitations_org_email_idx;
DROP INDEX IF EXISTS invitations_org_expires_idx;
