ALTER TABLE tasks DROP COLUMN actor_type;
ALTER TABLE projects DROP COLUMN actor_type;
