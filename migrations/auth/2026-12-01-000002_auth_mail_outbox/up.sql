-- Owned by auth: the mail it sends (verification and password reset links), written in the
-- same transaction as the one-time token and delivered by the outbox worker (libs/mail).
CREATE TABLE mail_outbox (
    id uuid PRIMARY KEY,
    kind text NOT NULL,
    recipient text NOT NULL,
    subject text NOT NULL,
    -- Sealed with the master key (AAD mail_outbox/body/id): JSON {text, html, link}. The link is
    -- a credential until used; NULL once the mail was sent or given up.
    body bytea,
    created_at timestamptz NOT NULL DEFAULT now(),
    attempts integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    sent_at timestamptz,
    failed_at timestamptz,
    last_error text
);

CREATE INDEX mail_outbox_due ON mail_outbox (next_attempt_at)
    WHERE sent_at IS NULL AND failed_at IS NULL;
