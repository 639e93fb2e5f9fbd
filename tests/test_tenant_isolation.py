"""Row-level security holds for every service with a database, including the ones whose
features come later: a migration that adds a table with a `tenant_id` but forgets
`enable_tenant_isolation` fails here, whichever service it belongs to."""

from __future__ import annotations

import pytest
from parley_devstack.services import SERVICES
from parley_platform.db.rls import tables_without_tenant_isolation
from sqlalchemy.ext.asyncio import create_async_engine

WITH_DATABASE = [spec.name for spec in SERVICES if spec.migrations_dir() is not None]


@pytest.mark.parametrize("name", WITH_DATABASE)
async def test_every_tenant_table_is_under_forced_row_level_security(
    name: str, service_databases
) -> None:
    database = await service_databases.get(name)
    engine = create_async_engine(database.app_url())
    try:
        async with engine.connect() as conn:
            assert await tables_without_tenant_isolation(conn) == []
    finally:
        await engine.dispose()


def test_every_service_with_tenant_data_has_a_database() -> None:
    assert {"auth", "conversation", "whatsapp", "ai", "knowledge"} <= set(WITH_DATABASE)
