"""Do a service's migrations build the tables its code declares?

Each service declares its tables once, as SQLAlchemy Core metadata (`repository/tables.py`),
and writes its migrations (which also hold what metadata cannot say: row-level security
policies, functions, triggers). `schema_differences` compares a database migrated to head
with that metadata, the way Alembic's autogenerate would, so a test fails as soon as the
two disagree: a column, type, nullability, index, unique or foreign key on one side only.
"""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import MetaData
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

_IGNORED_TABLES = frozenset({"alembic_version"})


def _include(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    if type_ == "table":
        return name not in _IGNORED_TABLES
    return True


def _compare(connection: Connection, metadata: MetaData) -> list[Any]:
    context = MigrationContext.configure(
        connection,
        opts={
            "compare_type": True,
            "compare_server_default": False,  # defaults live in the migrations' SQL
            "include_object": _include,
        },
    )
    return list(compare_metadata(context, metadata))


async def schema_differences(owner_url: str, metadata: MetaData) -> list[Any]:
    """What Alembic would change to make the database at `owner_url` match `metadata`
    (empty when they agree)."""
    engine = create_async_engine(owner_url, poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(_compare, metadata)
    finally:
        await engine.dispose()
