"""What the knowledge benchmarks share: a PostgreSQL with durable settings of their own
(fsync, synchronous_commit and full_page_writes on, as `make run`'s), and a migrated
knowledge database in it."""

from __future__ import annotations

import os
import secrets
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from parley_devstack.layout import STATE_ROOT, StackLayout
from parley_devstack.postgres import Postgres
from parley_devstack.services import prepare_database, service
from parley_platform.db.provision import ServiceDatabase, drop
from parley_testing.services import free_port

BENCH_STATE = STATE_ROOT / "bench-knowledge"


@asynccontextmanager
async def durable_postgres(state_dir: Path = BENCH_STATE) -> AsyncIterator[Postgres]:
    """A PostgreSQL server with durable settings (the `run` profile's configuration) in
    `state_dir`, on a free port; stopped when the block ends (its data is kept)."""
    os.environ["PARLEY_RUN_POSTGRES_PORT"] = str(free_port())
    postgres = Postgres(StackLayout("run", state_root=state_dir))
    assert postgres.layout.durable
    postgres.start()
    try:
        yield postgres
    finally:
        postgres.stop()


@asynccontextmanager
async def knowledge_database(postgres: Postgres) -> AsyncIterator[ServiceDatabase]:
    """A fresh, migrated knowledge database (dropped afterwards)."""
    spec = service("knowledge")
    db = spec.database(
        host="127.0.0.1",
        port=postgres.port,
        passwords={"owner": secrets.token_urlsafe(16), "app": secrets.token_urlsafe(16)},
        suffix=f"_bench_{uuid.uuid4().hex[:6]}",
    )
    await prepare_database(postgres.admin_dsn(), spec, db)
    try:
        yield db
    finally:
        await drop(postgres.admin_dsn(), db)


async def durability_settings(postgres: Postgres) -> str:
    """`fsync=on synchronous_commit=on full_page_writes=on`, as the server reports them."""
    import asyncpg

    connection = await asyncpg.connect(postgres.admin_dsn())
    try:
        values = []
        for name in ("fsync", "synchronous_commit", "full_page_writes"):
            values.append(f"{name}={await connection.fetchval(f'SHOW {name}')}")
        return " ".join(values)
    finally:
        await connection.close()
