-- Keyset (cursor) paging, issue 16: a page after a cursor is `WHERE col >= $v AND (col > $v OR
-- id > $id) ORDER BY col, id LIMIT n`, served by an index on (scope, col, id) that both starts
-- at the cursor and delivers the order. The default orders already had theirs
-- (tasks_project_created_idx, tasks_project_status_created_idx, tasks_org_created_idx, the
-- projects_org_* ones); these serve the other sort fields of the task lists within a project or
-- an organization.
--
-- Until the migrations were split per service this version also created tenancy's two
-- invitation indexes; they moved to tenancy's 2026-12-01-000023_tenancy_keyset_indexes, which
-- finds them already there on a database that applied this version before the split.

-- ListTasks(project_id, order_by=[-]updated_at | priority | title).
CREATE INDEX IF NOT EXISTS tasks_project_updated_idx ON tasks (project_id, updated_at, id);
CREATE INDEX IF NOT EXISTS tasks_project_priority_idx ON tasks (project_id, priority, id);
CREATE INDEX IF NOT EXISTS tasks_project_title_idx ON tasks (project_id, title, id);
-- ListTasks without a project (the whole organization), order_by=[-]updated_at.
CREATE INDEX IF NOT EXISTS tasks_org_updated_idx ON tasks (organization_id, updated_at, id);
