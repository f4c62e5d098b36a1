DROP INDEX refresh_tokens_sealed_successor;
ALTER TABLE refresh_tokens DROP COLUMN successor_sealed, DROP COLUMN successor_hash;
