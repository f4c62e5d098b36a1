-- Who created a project or task: `created_by` is a user id (USER) or an organization API key's
-- id (API_KEY; the key belongs to the tenancy service).
ALTER TABLE projects
    ADD COLUMN actor_type text NOT NULL DEFAULT 'USER' CHECK (actor_type IN ('USER', 'API_KEY'));
ALTER TABLE tasks
    ADD COLUMN actor_type text NOT NULL DEFAULT 'USER' CHECK (actor_type IN ('USER', 'API_KEY'));
