"""Database sessions in which the tenant is decided once, where the session is created.

Every transaction starts by setting `app.tenant_id` (a bound parameter, transaction-local) in
an `after_begin` hook (in a plain `tenant_transaction`, the same statement right after BEGIN);
row-level security policies compare each row's `tenant_id` with it. The service connects as a
role that owns no tables and cannot bypass RLS, and refuses to start otherwise, so a query
without a WHERE clause still sees only the session's tenant.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from uuid import UUID

import asyncpg
from sqlalchemy import event, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import Session, SessionTransaction

from parley_platform.db.driver import EVENTS_STAGED_KEY, Transaction
from parley_platform.telemetry import instrument_engine

TENANT_INFO_KEY = "parley_tenant_id"
# Always set, to '' when there is no tenant: policies read '' as "no tenant" and match nothing,
# so a pooled connection never carries another transaction's tenant.
_BIND_TENANT = "SELECT set_config('app.tenant_id', $1, true)"


class UnsafeDatabaseRoleError(RuntimeError):
    """The service's database role could read past row-level security."""


class TenantBoundSession(Session):
    """A Session whose transactions are bound to the tenant stored in `info`."""


@event.listens_for(TenantBoundSession, "after_begin")
def _bind_transaction_to_tenant(
    session: Session, transaction: SessionTransaction, connection: Connection
) -> None:
    # Driver SQL: runs at the start of every transaction, and needs no compiling.
    connection.exec_driver_sql(_BIND_TENANT, (session.info.get(TENANT_INFO_KEY, ""),))


async def _like_sqlalchemy_connections(connection: asyncpg.Connection) -> None:
    """The json and jsonb codecs SQLAlchemy installs on its asyncpg connections (JSON text
    in, decoded values out), so plain SQL reads the same on both pools."""
    for type_name in ("json", "jsonb"):
        await connection.set_type_codec(
            type_name, encoder=str, decoder=json.loads, schema="pg_catalog", format="text"
        )


async def _keep_connection(connection: asyncpg.Connection) -> None:
    """Nothing to reset when a connection goes back to the plain pool: every use was one
    transaction that ended (transaction-local settings and locks ended with it). asyncpg's
    default reset costs a round trip per transaction."""


_BEGIN_SNAPSHOT = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"


async def _end(connection: asyncpg.Connection, command: str) -> None:
    """COMMIT or ROLLBACK a plain transaction. A connection on which that fails or is cancelled
    is closed, never returned to the pool inside a transaction (the pool does not reset
    connections: `_keep_connection`)."""
    try:
        await connection.execute(command)
    except BaseException:
        connection.terminate()
        if command == "COMMIT":
            raise  # the caller must not believe it committed
        # A failed ROLLBACK: the block's own exception, being raised, says what went wrong.


def _nobody_listens() -> None:
    """No relay runs in this process (a tool, a test): its poll finds the rows."""


class Database:
    """A service's connection pools and its ways in: tenant sessions and system sessions
    (SQLAlchemy), and the same as plain transactions for paths written in plain SQL."""

    def __init__(self, url: str, *, pool_size: int = 10, instrument: bool = True) -> None:
        # hide_parameters: a database error's text must never carry the bound values (password
        # hashes, sealed secrets, message bodies) into a log line.
        self.engine = create_async_engine(
            url,
            pool_size=pool_size,
            max_overflow=pool_size,
            pool_pre_ping=True,
            hide_parameters=True,
        )
        if instrument:
            instrument_engine(self.engine.sync_engine)
        self._sessions = async_sessionmaker(
            self.engine, expire_on_commit=False, sync_session_class=TenantBoundSession
        )
        self._pool_size = pool_size
        self._plain_pool: asyncpg.Pool | None = None
        self._plain_pool_lock = asyncio.Lock()
        self._events_committed: Callable[[], None] = _nobody_listens

    def when_events_commit(self, callback: Callable[[], None]) -> None:
        """Call `callback` after every commit of a transaction that staged outbox events
        (`parley_platform.events.outbox.add_to_outbox`): the relay publishes them at once
        instead of at its next poll. It runs in the committing task, so it must not block."""
        self._events_committed = callback

    async def _plain_connections(self) -> asyncpg.Pool:
        """The pool of plain asyncpg connections (made on first use, with the engine's own
        connect arguments, so TLS options on the URL (?ssl=...) apply here too)."""
        async with self._plain_pool_lock:
            if self._plain_pool is None:
                _, options = self.engine.dialect.create_connect_args(self.engine.url)
                self._plain_pool = await asyncpg.create_pool(
                    **options,
                    min_size=0,
                    max_size=2 * self._pool_size,  # the engine's pool_size + max_overflow
                    init=_like_sqlalchemy_connections,
                    reset=_keep_connection,
                )
            return self._plain_pool

    @asynccontextmanager
    async def _plain_transaction(
        self, tenant: str, *, snapshot: bool = False
    ) -> AsyncIterator[Transaction]:
        pool = self._plain_pool or await self._plain_connections()
        async with pool.acquire() as connection:
            # BEGIN and the tenant binding in one round trip (one simple query). `tenant` is
            # a UUID its caller parsed, or '' (no tenant), so it is safe as a literal.
            begin = _BEGIN_SNAPSHOT if snapshot else "BEGIN"
            plain = Transaction(connection)
            try:
                await connection.execute(
                    f"{begin}; SELECT set_config('app.tenant_id', '{tenant}', true)"
                )
                yield plain
            except BaseException:
                await _end(connection, "ROLLBACK")
                raise
            await _end(connection, "COMMIT")
        if plain.events_staged:
            self._events_committed()

    def tenant_transaction(self, tenant_id: UUID | str) -> AbstractAsyncContextManager[Transaction]:
        """`tenant_session`'s guarantees (one transaction on behalf of `tenant_id`, committed
        when the block ends, rolled back when it raises; only that tenant's rows visible) on a
        plain asyncpg connection, for paths whose statements are all plain SQL
        (`parley_platform.db.driver`): none of the session's machinery on the way."""
        return self._plain_transaction(str(UUID(str(tenant_id))))

    def tenant_snapshot_transaction(
        self, tenant_id: UUID | str
    ) -> AbstractAsyncContextManager[Transaction]:
        """A read-only transaction on behalf of `tenant_id` in which every statement sees
        the same snapshot (REPEATABLE READ): a read made of several queries never mixes
        data from before and after another transaction's commit. Plain SQL only."""
        return self._plain_transaction(str(UUID(str(tenant_id))), snapshot=True)

    def system_transaction(self) -> AbstractAsyncContextManager[Transaction]:
        """`system_session` as a plain transaction (no tenant: it sees no tenant rows)."""
        return self._plain_transaction("")

    @asynccontextmanager
    async def tenant_session(self, tenant_id: UUID | str) -> AsyncIterator[AsyncSession]:
        """One transaction on behalf of `tenant_id`: commits when the block ends, rolls back
        when it raises. Only that tenant's rows can be read or written inside it."""
        tenant = str(UUID(str(tenant_id)))
        async with self._sessions() as session:
            session.sync_session.info[TENANT_INFO_KEY] = tenant
            async with session.begin():
                yield session
            self._after_commit(session)

    @asynccontextmanager
    async def system_session(self) -> AsyncIterator[AsyncSession]:
        """A transaction with no tenant: it sees no tenant rows. It is for tables that are not
        tenant-owned and for the narrow SECURITY DEFINER functions that must cross tenants
        (outbox relay, channel routing)."""
        async with self._sessions() as session:
            async with session.begin():
                yield session
            self._after_commit(session)

    def _after_commit(self, session: AsyncSession) -> None:
        if session.sync_session.info.pop(EVENTS_STAGED_KEY, False):
            self._events_committed()

    async def ping(self) -> None:
        """Raise if the database cannot answer a trivial query."""
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def verify_role(self) -> None:
        """Refuse a role that is superuser, has BYPASSRLS, or owns (or can act as the owner
        of) any table: with any of those, row-level security would not protect us."""
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(
                    text(
                        """
                        SELECT r.rolname, r.rolsuper, r.rolbypassrls,
                               (SELECT count(*) FROM pg_class c
                                 WHERE c.relkind IN ('r', 'p')
                                   AND c.relnamespace NOT IN ('pg_catalog'::regnamespace,
                                                              'information_schema'::regnamespace)
                                   AND pg_has_role(current_user, c.relowner, 'USAGE')) AS owned
                          FROM pg_roles r WHERE r.rolname = current_user
                        """
                    )
                )
            ).one()
        problems = []
        if row.rolsuper:
            problems.append("is a superuser")
        if row.rolbypassrls:
            problems.append("has BYPASSRLS")
        if row.owned:
            problems.append(f"owns {row.owned} table(s)")
        if problems:
            raise UnsafeDatabaseRoleError(
                f"database role {row.rolname!r} {', '.join(problems)}; services must connect "
                "as their app role so that row-level security applies"
            )

    async def dispose(self) -> None:
        if self._plain_pool is not None:
            await self._plain_pool.close()
            self._plain_pool = None
        await self.engine.dispose()
