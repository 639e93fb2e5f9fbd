"""Tenant isolation underneath the code: every table of the service is under forced
row-level security, so even a query without a tenant condition sees one tenant only."""

from __future__ import annotations

import uuid

from parley_platform.db.rls import tables_without_tenant_isolation
from sqlalchemy import text

TABLES = (
    "contacts",
    "conversations",
    "messages",
    "message_wamids",
    "conversation_transitions",
    "parley_inbox",
)


async def test_every_tenant_table_is_under_forced_row_level_security(harness) -> None:
    async with harness.running.runtime.resources.database.engine.connect() as conn:
        assert await tables_without_tenant_isolation(conn) == []


async def test_a_query_without_a_tenant_condition_still_sees_only_the_sessions_tenant(
    harness,
) -> None:
    mine, theirs = uuid.uuid4(), uuid.uuid4()
    for tenant in (mine, theirs):
        customer = harness.customer(tenant)
        await harness.customer_says(customer, "hello")
        conversation = await harness.conversation_of(harness.admin(tenant), customer)
        await harness.post(
            harness.admin(tenant), f"/api/v1/conversations/{conversation['id']}/takeover"
        )
    database = harness.running.runtime.resources.database
    for table in (*TABLES, "parley_outbox"):
        async with database.tenant_session(mine) as session:
            tenants = (
                (
                    await session.execute(text(f"SELECT DISTINCT tenant_id FROM {table}"))  # noqa: S608
                )
                .scalars()
                .all()
            )
        assert set(tenants) <= {mine}, table
        if table in TABLES:
            assert set(tenants) == {mine}, table
        async with database.system_session() as session:
            seen = (await session.execute(text(f"SELECT count(*) FROM {table}"))).scalar()  # noqa: S608
        assert seen == 0, table
