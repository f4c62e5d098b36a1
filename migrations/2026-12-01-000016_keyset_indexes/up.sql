-- Keyset (cursor) paging, issue 16: a page after a cursor is `WHERE col >= $v AND (col > $v OR
-- id > $id) ORDER BY col, id LIMIT n`, served by an index on (scope, col, id) that both starts
-- at the cursor and delivers the order. The default orders already had theirs (work:
-- tasks_project_created_idx, tasks_project_status_created_idx, tasks_org_created_idx, the
-- projects_org_* ones; tenancy: audit_events_org_created_idx, invitations_org_created_idx,
-- api_keys_org_created_idx); these serve the other sort fields of the lists within a project or
-- an organization.

-- ListTasks(project_id, order_by=[-]updated_at | priority | title).
CREATE INDEX tasks_project_updated_idx ON tasks (project_id, updated_at, id);
CREATE INDEX tasks_project_priority_idx ON tasks (project_id, priority, id);
CREATE INDEX tasks_project_title_idx ON tasks (project_id, title, id);
-- ListTasks without a project (the whole organization), order_by=[-]updated_at.
CREATE INDEX tasks_org_updated_idx ON tasks (organization_id, updated_at, id);
-- ListInvitations(order_by=[-]expires_at | email).
CREATE INDEX invitations_org_expires_idx ON invitations (organization_id, expires_at, id);
CREATE INDEX invitations_org_email_idx ON invitations (organization_id, email, id);
