"""Plain SQL on the session's own connection, for the statements of the busiest paths.

An event handler runs a dozen statements per event. Through SQLAlchemy each one costs about
half a millisecond of CPU on top of the database's work: building the statement, walking it
for its cache key, compiling what the cache misses (SQLAlchemy never caches a compiled
PostgreSQL upsert, sqlalchemy#10445), and processing the result. asyncpg alone prepares a
statement once per connection (its statement cache) and then only binds and decodes, for about
a third of that (docs/performance.md has the measurements).

The statements run on the connection, and in the transaction, of the session they are given:
the tenant bound by `Database.tenant_session` applies to them as to any other (row-level
security), they commit or roll back with the session, and they may be mixed freely with
SQLAlchemy statements. Parameters are positional (`$1`, `$2`, ...); a `jsonb` value is passed
as JSON text and comes back decoded (the codecs SQLAlchemy installs on its connections).

A `Transaction` (`Database.tenant_transaction`) is the lean alternative for paths that run
nothing but these statements: a plain asyncpg transaction, with none of the session's
machinery (begin, connection checkout, commit and close each cross into SQLAlchemy's greenlet;
its ORM bookkeeping runs even when no ORM object is used). Every function here takes either.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import asyncpg
from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncSession

_DRIVER_KEY = "parley_driver_connection"
EVENTS_STAGED_KEY = "parley_events_staged"


class Transaction:
    """One database transaction on a plain asyncpg connection (from
    `Database.tenant_transaction` or `Database.system_transaction`, which bind the tenant,
    commit and roll back): for the statements of this module only."""

    __slots__ = ("connection", "events_staged")

    def __init__(self, connection: asyncpg.Connection) -> None:
        self.connection = connection
        self.events_staged = False


# What the functions here run statements in: a SQLAlchemy session or a plain transaction.
SqlSession = AsyncSession | Transaction


class NeedsSqlAlchemySession(TypeError):
    """A SQLAlchemy statement was given a plain `Transaction` (only plain SQL runs there)."""


def sqlalchemy_session(session: SqlSession) -> AsyncSession:
    """`session` as a SQLAlchemy session, for a statement built with SQLAlchemy (a read of a
    cold path); a plain `Transaction` cannot run one, and says so."""
    if isinstance(session, Transaction):
        raise NeedsSqlAlchemySession(
            "this statement is built with SQLAlchemy: run it in Database.tenant_session, "
            "or write it in plain SQL to run it in Database.tenant_transaction"
        )
    return session


def mark_events_staged(session: SqlSession) -> None:
    """Note that `session`'s transaction staged outbox events: once it commits, the
    `Database` tells the outbox relay (`Database.when_events_commit`)."""
    if isinstance(session, Transaction):
        session.events_staged = True
    else:
        session.sync_session.info[EVENTS_STAGED_KEY] = True


async def driver_connection(session: SqlSession) -> asyncpg.Connection:
    """The asyncpg connection of `session`'s current transaction (begun if need be)."""
    if isinstance(session, Transaction):
        return session.connection
    info = session.sync_session.info
    transaction = session.sync_session.get_transaction()
    cached = info.get(_DRIVER_KEY)
    if cached is not None and transaction is not None and cached[0] is transaction:
        return cached[1]
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    driver: asyncpg.Connection = raw.driver_connection  # type: ignore[assignment]
    info[_DRIVER_KEY] = (session.sync_session.get_transaction(), driver)
    return driver


async def fetch_one(session: SqlSession, sql: str, *args: Any) -> asyncpg.Record | None:
    """The first row of `sql` (or None)."""
    return await (await driver_connection(session)).fetchrow(sql, *args)


async def fetch_all(session: SqlSession, sql: str, *args: Any) -> list[asyncpg.Record]:
    """Every row of `sql`."""
    return list(await (await driver_connection(session)).fetch(sql, *args))


async def execute(session: SqlSession, sql: str, *args: Any) -> None:
    """Run `sql` for its effect."""
    await (await driver_connection(session)).execute(sql, *args)


def columns(
    table: Table, alias: str = "", *, label_prefix: str = "", skip: Sequence[str] = ()
) -> str:
    """`alias.col, ...` of every column of `table` (declared once in the service's tables
    module), optionally labelled `label_prefix + col`, for a SELECT or RETURNING list."""
    qualifier = f"{alias}." if alias else ""
    return ", ".join(
        f"{qualifier}{c.name}" + (f" AS {label_prefix}{c.name}" if label_prefix else "")
        for c in table.c
        if c.name not in skip
    )
