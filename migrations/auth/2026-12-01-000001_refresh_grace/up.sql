-- Refresh grace (issue 14): a spent refresh token remembers its successor, and for
-- OPERANT_REFRESH_REUSE_GRACE_SECS after the rotation keeps the successor pair sealed with the
-- master key (AAD refresh_tokens / successor_sealed / token_hash), so that a retry after a lost
-- answer gets the same pair. Cleared when the successor is rotated or the session revoked, and
-- never returned after the window.
ALTER TABLE refresh_tokens
    ADD COLUMN successor_hash bytea,
    ADD COLUMN successor_sealed bytea;

-- Only the rows inside a grace window: finds the parent to clear at the next rotation.
CREATE INDEX refresh_tokens_sealed_successor ON refresh_tokens (successor_hash)
    WHERE successor_sealed IS NOT NULL;
