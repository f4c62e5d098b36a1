-- Owned by tenancy: invitations of people by email into an organization, and the mail that
-- carries them. A pending invitation holds a seat (members + live pending invitations are
-- counted against the plan's max_users under the organization's `members` quota lock); one is
-- expired when `expires_at` has passed (computed, never stored), which frees its seat.
CREATE TABLE invitations (
    id              uuid PRIMARY KEY,
    organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    -- Normalised like auth's emails (trimmed, lower-cased); compared case-insensitively.
    email           text NOT NULL CHECK (email = lower(btrim(email)) AND length(email) BETWEEN 3 AND 320),
    -- Ownership is only ever transferred, never invited.
    role            text NOT NULL CHECK (role IN ('ADMIN', 'MEMBER')),
    status          text NOT NULL DEFAULT 'PENDING'
                    CHECK (status IN ('PENDING', 'ACCEPTED', 'DECLINED', 'REVOKED')),
    -- SHA-256 of the single-use token mailed to the invitee (the token itself is never stored);
    -- replaced by a resend, so the old token stops working.
    token_hash      bytea NOT NULL,
    invited_by      uuid NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    expires_at      timestamptz NOT NULL,
    -- When it was accepted, declined or revoked, and by whom.
    responded_at    timestamptz,
    responded_by    uuid
);
-- AcceptInvitation by token: WHERE token_hash = $1.
CREATE UNIQUE INDEX invitations_token_hash_key ON invitations (token_hash);
-- ListInvitations: WHERE organization_id = $1 [AND status ...] ORDER BY created_at DESC, id DESC;
-- seat counts: WHERE organization_id = $1 AND status = 'PENDING' AND expires_at > now().
CREATE INDEX invitations_org_created_idx ON invitations (organization_id, created_at DESC, id DESC);
-- The caller's pending invitations and INVITATION_PENDING checks: WHERE email = $1 AND status = 'PENDING'.
CREATE INDEX invitations_pending_email_idx ON invitations (email, organization_id) WHERE status = 'PENDING';

-- Tenancy's mail (invitations), written in the same transaction as the invitation token and
-- delivered by the outbox worker of libs/mail, like auth's mail_outbox.
CREATE TABLE tenancy_mail_outbox (
    id uuid PRIMARY KEY,
    kind text NOT NULL,
    recipient text NOT NULL,
    subject text NOT NULL,
    -- Sealed with the master key (AAD tenancy_mail_outbox/body/id): JSON {text, html, link}. The
    -- link carries the invitation token; NULL once the mail was sent or given up.
    body bytea,
    created_at timestamptz NOT NULL DEFAULT now(),
    attempts integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    sent_at timestamptz,
    failed_at timestamptz,
    last_error text
);
-- The worker's claim: WHERE sent_at IS NULL AND failed_at IS NULL ORDER BY next_attempt_at.
CREATE INDEX tenancy_mail_outbox_due ON tenancy_mail_outbox (next_attempt_at)
    WHERE sent_at IS NULL AND failed_at IS NULL;
