"""Each service declares its tables once (SQLAlchemy Core metadata in
`repository/tables.py`); its migrations must build exactly those tables."""

from __future__ import annotations

import importlib

import pytest
from parley_devstack.services import SERVICES
from parley_platform.db.schema_check import schema_differences

# Services whose tables.py does not declare everything yet (being converted; remove each
# name as its metadata becomes complete: strict, so a service that passes must leave here).
NOT_YET_DECLARED: set[str] = set()
WITH_DATABASE = [
    pytest.param(
        s.name,
        marks=[pytest.mark.xfail(strict=True, reason="tables not declared once yet")]
        if s.name in NOT_YET_DECLARED
        else [],
    )
    for s in SERVICES
    if s.migrations_dir() is not None
]


@pytest.mark.parametrize("name", WITH_DATABASE)
async def test_the_migrations_build_exactly_the_declared_tables(name, service_databases) -> None:
    tables = importlib.import_module(f"parley_{name}.repository.tables")
    database = await service_databases.get(name)
    assert await schema_differences(database.owner_url(), tables.metadata) == []
