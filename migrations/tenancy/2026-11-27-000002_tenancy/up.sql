-- Owned by the tenancy service (services/tenancy). User ids are the auth service's; there is
-- no foreign key to `users` because services never share tables.

CREATE TABLE organizations (
    id              uuid PRIMARY KEY,
    name            text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 200),
    slug            text NOT NULL CHECK (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$' AND length(slug) BETWEEN 2 AND 63),
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
-- CreateOrganization / UpdateOrganization uniqueness (SLUG_TAKEN).
CREATE UNIQUE INDEX organizations_slug_key ON organizations (slug);

-- One row per organization: its plan.
CREATE TABLE subscriptions (
    organization_id uuid PRIMARY KEY REFERENCES organizations (id) ON DELETE CASCADE,
    plan            text NOT NULL DEFAULT 'FREE' CHECK (plan IN ('FREE', 'PRO')),
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE memberships (
    organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    user_id         uuid NOT NULL,
    role            text NOT NULL CHECK (role IN ('OWNER', 'ADMIN', 'MEMBER')),
    created_at      timestamptz NOT NULL DEFAULT now(),
    -- Authorize (the hot path) and ListMembers: WHERE organization_id = $1 [AND user_id = $2].
    PRIMARY KEY (organization_id, user_id)
);
-- ListOrganizations (the caller's organizations): WHERE user_id = $1.
CREATE INDEX memberships_user_idx ON memberships (user_id, organization_id);
-- Last-owner checks: WHERE organization_id = $1 AND role = 'OWNER'.
CREATE INDEX memberships_owners_idx ON memberships (organization_id) WHERE role = 'OWNER';

CREATE TABLE audit_events (
    id              uuid PRIMARY KEY,
    organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    actor_id        uuid NOT NULL,
    action          text NOT NULL,
    target_type     text NOT NULL,
    target_id       text NOT NULL,
    details         jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at      timestamptz NOT NULL DEFAULT now()
);
-- ListAuditEvents: WHERE organization_id = $1 ORDER BY created_at DESC, id DESC.
CREATE INDEX audit_events_org_created_idx ON audit_events (organization_id, created_at DESC, id DESC);
