DROP INDEX IF EXISTS tasks_org_updated_idx;
DROP INDEX IF EXISTS tasks_project_title_idx;
DROP INDEX IF EXISTS tasks_project_priority_idx;
DROP INDEX IF EXISTS tasks_project_updated_idx;
