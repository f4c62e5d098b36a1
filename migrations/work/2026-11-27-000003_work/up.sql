-- Owned by the work service (services/work). Organization and user ids belong to the tenancy
-- and auth services; no foreign keys cross service boundaries.

CREATE TABLE projects (
    id              uuid PRIMARY KEY,
    organization_id uuid NOT NULL,
    name            text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 200),
    description     text CHECK (description IS NULL OR length(description) <= 10000),
    created_by      uuid NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    version         bigint NOT NULL DEFAULT 1 CHECK (version >= 1),
    -- Target of the tasks' composite foreign key, so a task can only live in a project of its
    -- own organization.
    UNIQUE (organization_id, id)
);
-- ListProjects ordered by created_at (the default, `-created_at`) in either direction.
CREATE INDEX projects_org_created_idx ON projects (organization_id, created_at, id);
-- ListProjects ordered by updated_at.
CREATE INDEX projects_org_updated_idx ON projects (organization_id, updated_at, id);
-- ListProjects ordered by name.
CREATE INDEX projects_org_name_idx ON projects (organization_id, name, id);
-- ListProjects filtered by created_by.
CREATE INDEX projects_org_creator_idx ON projects (organization_id, created_by);

CREATE TABLE tasks (
    id              uuid PRIMARY KEY,
    organization_id uuid NOT NULL,
    project_id      uuid NOT NULL,
    title           text NOT NULL CHECK (length(btrim(title)) BETWEEN 1 AND 200),
    description     text CHECK (description IS NULL OR length(description) <= 10000),
    status          text NOT NULL DEFAULT 'TODO' CHECK (status IN ('TODO', 'IN_PROGRESS', 'DONE')),
    -- 1 LOW, 2 MEDIUM, 3 HIGH, 4 URGENT: numeric so that ORDER BY priority is meaningful.
    priority        smallint NOT NULL DEFAULT 2 CHECK (priority BETWEEN 1 AND 4),
    assignee_id     uuid,
    due_date        timestamptz,
    created_by      uuid NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    version         bigint NOT NULL DEFAULT 1 CHECK (version >= 1),
    FOREIGN KEY (organization_id, project_id) REFERENCES projects (organization_id, id) ON DELETE CASCADE
);
-- ListTasks in one project filtered by status (the common board view), ordered by created_at;
-- also serves the cascade from projects and unfiltered per-project lists.
CREATE INDEX tasks_project_status_created_idx ON tasks (project_id, status, created_at, id);
-- ListTasks in one project ordered by created_at without a status filter.
CREATE INDEX tasks_project_created_idx ON tasks (project_id, created_at, id);
-- ListTasks over the whole organization (no project_id), ordered by created_at; PurgeOrganization.
CREATE INDEX tasks_org_created_idx ON tasks (organization_id, created_at, id);
-- ListTasks filtered by assignee (`assignee_id=me`).
CREATE INDEX tasks_org_assignee_idx ON tasks (organization_id, assignee_id) WHERE assignee_id IS NOT NULL;
-- ListTasks filtered by or ordered by due date within a project.
CREATE INDEX tasks_project_due_idx ON tasks (project_id, due_date, id);
