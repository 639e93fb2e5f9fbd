"""Tenants, users, teams, API keys, refresh tokens, WhatsApp channels and signing keys.

Every tenant table has `tenant_id` first in its keys, composite foreign keys to its parents
and forced row-level security. Two uniqueness rules are global by design, not per tenant:
an email address is one account (login finds the tenant from it) and a WhatsApp
phone_number_id belongs to one tenant (webhooks are routed by it). The look-ups that must
cross tenants are SECURITY DEFINER functions owned by the owner role, each returning only
ids, never credentials.

Revision ID: 0002
Revises: 0001
"""

from alembic import op
from parley_platform.db.rls import enable_tenant_isolation

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_TABLES = (
    """
    CREATE TABLE tenants (
        tenant_id   uuid        PRIMARY KEY,
        name        text        NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
        created_at  timestamptz NOT NULL DEFAULT now()
    )
    """,
    """
    CREATE TABLE users (
        tenant_id              uuid        NOT NULL REFERENCES tenants (tenant_id),
        id                     uuid        NOT NULL,
        email                  text        NOT NULL CHECK (email = lower(email)),
        name                   text        NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
        role                   text        NOT NULL CHECK (role IN ('owner', 'admin', 'agent')),
        password_hash          text,
        active                 boolean     NOT NULL DEFAULT true,
        -- Access tokens issued before this instant are void (deactivation, role change, ...).
        tokens_valid_after     timestamptz,
        invitation_digest      bytea,
        invitation_expires_at  timestamptz,
        created_at             timestamptz NOT NULL DEFAULT now(),
        updated_at             timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (tenant_id, id)
    )
    """,
    """
    -- Global on purpose: one email address is one account across Parley.
    CREATE UNIQUE INDEX users_email_key ON users (email)
    """,
    """
    CREATE INDEX users_tenant_role ON users (tenant_id, role) WHERE active
    """,
    """
    CREATE TABLE teams (
        tenant_id   uuid        NOT NULL REFERENCES tenants (tenant_id),
        id          uuid        NOT NULL,
        name        text        NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
        created_at  timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (tenant_id, id)
    )
    """,
    """
    CREATE UNIQUE INDEX teams_tenant_name_key ON teams (tenant_id, lower(name))
    """,
    """
    CREATE TABLE team_members (
        tenant_id   uuid        NOT NULL,
        team_id     uuid        NOT NULL,
        user_id     uuid        NOT NULL,
        added_at    timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (tenant_id, team_id, user_id),
        FOREIGN KEY (tenant_id, team_id) REFERENCES teams (tenant_id, id) ON DELETE CASCADE,
        FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
    )
    """,
    """
    CREATE INDEX team_members_user ON team_members (tenant_id, user_id)
    """,
    """
    CREATE TABLE api_keys (
        tenant_id      uuid        NOT NULL,
        id             uuid        NOT NULL,
        name           text        NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
        role           text        NOT NULL CHECK (role IN ('admin', 'agent')),
        scopes         text[]      NOT NULL,
        secret_digest  bytea       NOT NULL,
        created_by     uuid        NOT NULL,
        created_at     timestamptz NOT NULL DEFAULT now(),
        expires_at     timestamptz,
        revoked_at     timestamptz,
        PRIMARY KEY (tenant_id, id),
        FOREIGN KEY (tenant_id, created_by) REFERENCES users (tenant_id, id)
    )
    """,
    """
    CREATE TABLE refresh_tokens (
        tenant_id      uuid        NOT NULL,
        id             uuid        NOT NULL,
        family_id      uuid        NOT NULL,
        user_id        uuid        NOT NULL,
        secret_digest  bytea       NOT NULL,
        created_at     timestamptz NOT NULL DEFAULT now(),
        expires_at     timestamptz NOT NULL,
        -- Set when the token was exchanged for a new one: presenting it again is reuse.
        rotated_at     timestamptz,
        revoked_at     timestamptz,
        PRIMARY KEY (tenant_id, id),
        FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
    )
    """,
    """
    CREATE INDEX refresh_tokens_family ON refresh_tokens (tenant_id, family_id)
    """,
    """
    CREATE INDEX refresh_tokens_user ON refresh_tokens (tenant_id, user_id) WHERE revoked_at IS NULL
    """,
    """
    CREATE INDEX refresh_tokens_expires ON refresh_tokens (expires_at)
    """,
    """
    CREATE TABLE whatsapp_channels (
        tenant_id             uuid        NOT NULL REFERENCES tenants (tenant_id),
        id                    uuid        NOT NULL,
        phone_number_id       text        NOT NULL CHECK (phone_number_id ~ '^[0-9]{1,32}$'),
        waba_id               text        NOT NULL,
        display_phone_number  text        NOT NULL,
        access_token_sealed   bytea       NOT NULL,
        app_secret_sealed     bytea,
        verify_token_sealed   bytea       NOT NULL,
        messages_per_second   integer     NOT NULL DEFAULT 80
                                          CHECK (messages_per_second BETWEEN 1 AND 1000),
        disconnected_at       timestamptz,
        disconnect_reason     text,
        created_at            timestamptz NOT NULL DEFAULT now(),
        updated_at            timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (tenant_id, id)
    )
    """,
    """
    -- Global on purpose: Meta's number id routes a webhook to exactly one tenant.
    CREATE UNIQUE INDEX whatsapp_channels_phone_number_id_key ON whatsapp_channels (phone_number_id)
    """,
    """
    -- Not tenant data: the platform's token-signing keys (private halves sealed).
    CREATE TABLE signing_keys (
        kid                 text        PRIMARY KEY,
        public_key          bytea       NOT NULL,
        private_key_sealed  bytea       NOT NULL,
        created_at          timestamptz NOT NULL DEFAULT now(),
        active_from         timestamptz NOT NULL
    )
    """,
)

_TENANT_TABLES = (
    "tenants",
    "users",
    "teams",
    "team_members",
    "api_keys",
    "refresh_tokens",
    "whatsapp_channels",
)

# Each function: SECURITY DEFINER (runs as the BYPASSRLS owner), fixed search_path, one
# narrow question, ids only.
_LOOKUPS = (
    """
    CREATE FUNCTION auth_account_of_email(p_email text)
    RETURNS TABLE (tenant_id uuid, user_id uuid)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
        SELECT u.tenant_id, u.id FROM public.users u WHERE u.email = p_email
    $$
    """,
    """
    CREATE FUNCTION auth_tenant_of_refresh_token(p_id uuid) RETURNS uuid
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
        SELECT r.tenant_id FROM public.refresh_tokens r WHERE r.id = p_id
    $$
    """,
    """
    CREATE FUNCTION auth_tenant_of_api_key(p_id uuid) RETURNS uuid
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
        SELECT k.tenant_id FROM public.api_keys k WHERE k.id = p_id
    $$
    """,
    """
    CREATE FUNCTION auth_tenant_of_invitation(p_user_id uuid) RETURNS uuid
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
        SELECT u.tenant_id FROM public.users u
         WHERE u.id = p_user_id AND u.invitation_digest IS NOT NULL
    $$
    """,
    """
    CREATE FUNCTION auth_channel_of_phone_number_id(p_phone_number_id text)
    RETURNS TABLE (tenant_id uuid, channel_id uuid)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
        SELECT c.tenant_id, c.id FROM public.whatsapp_channels c
         WHERE c.phone_number_id = p_phone_number_id
    $$
    """,
    """
    CREATE FUNCTION auth_tenant_of_channel(p_id uuid) RETURNS uuid
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
        SELECT c.tenant_id FROM public.whatsapp_channels c WHERE c.id = p_id
    $$
    """,
    """
    -- Housekeeping across tenants: forget refresh tokens long past their expiry.
    CREATE FUNCTION auth_prune_refresh_tokens(p_keep interval) RETURNS bigint
    LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
        WITH gone AS (DELETE FROM public.refresh_tokens WHERE expires_at < now() - p_keep
                      RETURNING 1)
        SELECT count(*) FROM gone
    $$
    """,
)


def upgrade() -> None:
    for statement in _TABLES:
        op.execute(statement)
    for table in _TENANT_TABLES:
        enable_tenant_isolation(table)
    for statement in _LOOKUPS:
        op.execute(statement)


def downgrade() -> None:
    raise NotImplementedError("forward-only migrations")
