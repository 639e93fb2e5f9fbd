"""An email address is bound to an account only once its owner proved it.

Sign-up no longer creates anything before the address is confirmed: a `signup_requests` row
waits (under the tenant id it will create, with row-level security like every tenant table)
until the link sent to the address is used. An invitation no longer holds its address:
uniqueness covers accounts with a password only, i.e. owners who confirmed a sign-up and
invitees who accepted an invitation sent to their address; within one tenant an address
appears once. Signing in looks among those accounts only.

Revision ID: 0004
Revises: 0003
"""

from alembic import op
from parley_platform.db.rls import enable_tenant_isolation

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_STATEMENTS = (
    "DROP INDEX users_email_key",
    """
    -- Global on purpose: one email address is one account across Parley, once proved.
    CREATE UNIQUE INDEX users_email_key ON users (email) WHERE password_hash IS NOT NULL
    """,
    "CREATE UNIQUE INDEX users_tenant_email_key ON users (tenant_id, email)",
    """
    CREATE OR REPLACE FUNCTION auth_account_of_email(p_email text)
    RETURNS TABLE (tenant_id uuid, user_id uuid)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
        SELECT u.tenant_id, u.id FROM public.users u
         WHERE u.email = p_email AND u.password_hash IS NOT NULL
    $$
    """,
    """
    CREATE TABLE signup_requests (
        tenant_id      uuid        NOT NULL,
        id             uuid        NOT NULL,
        email          text        NOT NULL CHECK (email = lower(email)),
        company_name   text        NOT NULL CHECK (length(company_name) BETWEEN 1 AND 200),
        owner_name     text        NOT NULL CHECK (length(owner_name) BETWEEN 1 AND 200),
        password_hash  text        NOT NULL,
        secret_digest  bytea       NOT NULL,
        expires_at     timestamptz NOT NULL,
        created_at     timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (tenant_id, id)
    )
    """,
    """
    CREATE FUNCTION auth_tenant_of_signup_request(p_id uuid) RETURNS uuid
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
        SELECT s.tenant_id FROM public.signup_requests s WHERE s.id = p_id
    $$
    """,
    """
    -- Housekeeping across tenants: forget sign-ups nobody confirmed.
    CREATE FUNCTION auth_prune_signup_requests() RETURNS bigint
    LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
        WITH gone AS (DELETE FROM public.signup_requests WHERE expires_at < now()
                      RETURNING 1)
        SELECT count(*) FROM gone
    $$
    """,
)


def upgrade() -> None:
    for statement in _STATEMENTS:
        op.execute(statement)
    enable_tenant_isolation("signup_requests")


def downgrade() -> None:
    raise NotImplementedError("forward-only migrations")
