"""Row-level security for tenant tables, as used by migrations and checked by tests.

The policy reads `app.tenant_id` with NULLIF(..., '') because once set_config has run on a
pooled connection the setting reads back as '' rather than NULL (STYLE.md, "Known traps").
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

TENANT_PREDICATE = "tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid"


def enable_tenant_isolation(table: str) -> None:
    """Make `table` (which has a `tenant_id uuid` column) visible and writable only for the
    transaction's tenant, for every role including the table owner."""
    from alembic import op  # migrations only; keeps Alembic out of service start-up

    op.execute(f'ALTER TABLE "{table}" ENABLE ROW LEVEL SECURITY')
    op.execute(f'ALTER TABLE "{table}" FORCE ROW LEVEL SECURITY')
    op.execute(
        f'CREATE POLICY tenant_isolation ON "{table}" '
        f"USING ({TENANT_PREDICATE}) WITH CHECK ({TENANT_PREDICATE})"
    )


async def tables_without_tenant_isolation(conn: AsyncConnection) -> list[str]:
    """Tables that have a tenant_id column but no forced RLS policy (should be none)."""
    rows = await conn.execute(
        text(
            """
            SELECT c.relname
              FROM pg_class c
              JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id'
             WHERE c.relkind IN ('r', 'p')
               AND c.relnamespace = 'public'::regnamespace
               AND NOT (c.relrowsecurity AND c.relforcerowsecurity
                        AND EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid))
             ORDER BY 1
            """
        )
    )
    return [r[0] for r in rows]
