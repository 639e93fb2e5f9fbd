"""Alembic, shared: every service's `migrations/env.py` calls `run_env()`, and tools call
`upgrade()` with the owner role's URL (migrations are a step of their own, never run by a
service at start-up with its app role)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command, context
from alembic.config import Config
from sqlalchemy import MetaData
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

OWNER_URL_ATTRIBUTE = "parley_owner_url"


def alembic_config(migrations_dir: Path, owner_url: str) -> Config:
    """An Alembic config for one service's migrations folder."""
    config = Config()
    config.set_main_option("script_location", str(migrations_dir))
    config.set_main_option("path_separator", "os")
    config.attributes[OWNER_URL_ATTRIBUTE] = owner_url
    return config


def upgrade(migrations_dir: Path, owner_url: str, revision: str = "head") -> None:
    """Migrate a service's database to `revision` (blocking; use a thread from async code)."""
    command.upgrade(alembic_config(migrations_dir, owner_url), revision)


def run_env(target_metadata: MetaData | None = None) -> None:
    """Body of every service's Alembic env.py; `target_metadata` (the service's declared
    tables) lets `alembic revision --autogenerate` draft a migration from them."""
    url = context.config.attributes.get(OWNER_URL_ATTRIBUTE) or context.config.get_main_option(
        "sqlalchemy.url"
    )
    if not url:
        raise RuntimeError("no database URL: call parley_platform.db.migrations.upgrade()")
    if context.is_offline_mode():
        context.configure(
            url=url,
            literal_binds=True,
            transaction_per_migration=True,
            target_metadata=target_metadata,
        )
        with context.begin_transaction():
            context.run_migrations()
        return

    def migrate(connection: Connection) -> None:
        context.configure(
            connection=connection,
            transaction_per_migration=True,
            target_metadata=target_metadata,
        )
        with context.begin_transaction():
            context.run_migrations()

    async def run() -> None:
        engine = create_async_engine(url, poolclass=NullPool)
        try:
            async with engine.connect() as connection:
                await connection.run_sync(migrate)
                await connection.commit()
        finally:
            await engine.dispose()

    asyncio.run(run())
