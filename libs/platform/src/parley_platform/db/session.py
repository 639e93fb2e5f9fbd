"""Database sessions in which the tenant is decided once, where the session is created.

Every transaction starts by setting `app.tenant_id` (a bound parameter, transaction-local) in
an `after_begin` hook; row-level security policies compare each row's `tenant_id` with it. The
service connects as a role that owns no tables and cannot bypass RLS, and refuses to start
otherwise, so a query without a WHERE clause still sees only the session's tenant.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from uuid import UUID

from sqlalchemy import event, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import Session, SessionTransaction

from parley_platform.telemetry import instrument_engine

TENANT_INFO_KEY = "parley_tenant_id"


class UnsafeDatabaseRoleError(RuntimeError):
    """The service's database role could read past row-level security."""


class TenantBoundSession(Session):
    """A Session whose transactions are bound to the tenant stored in `info`."""


@event.listens_for(TenantBoundSession, "after_begin")
def _bind_transaction_to_tenant(
    session: Session, transaction: SessionTransaction, connection: Connection
) -> None:
    # Always set it, to '' when there is no tenant: policies read '' as "no tenant" and match
    # nothing, so a pooled connection never carries another transaction's tenant.
    # Driver SQL: runs at the start of every transaction, and needs no compiling.
    connection.exec_driver_sql(
        "SELECT set_config('app.tenant_id', $1, true)",
        (session.info.get(TENANT_INFO_KEY, ""),),
    )


class Database:
    """A service's connection pool and its two ways in: tenant sessions and system sessions."""

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

    @asynccontextmanager
    async def tenant_session(self, tenant_id: UUID | str) -> AsyncIterator[AsyncSession]:
        """One transaction on behalf of `tenant_id`: commits when the block ends, rolls back
        when it raises. Only that tenant's rows can be read or written inside it."""
        tenant = str(UUID(str(tenant_id)))
        async with self._sessions() as session:
            session.sync_session.info[TENANT_INFO_KEY] = tenant
            async with session.begin():
                yield session

    @asynccontextmanager
    async def tenant_snapshot(self, tenant_id: UUID | str) -> AsyncIterator[AsyncSession]:
        """A read-only transaction on behalf of `tenant_id` in which every statement sees
        the same snapshot (REPEATABLE READ): a read made of several queries never mixes
        data from before and after another transaction's commit."""
        tenant = str(UUID(str(tenant_id)))
        async with self._sessions() as session:
            session.sync_session.info[TENANT_INFO_KEY] = tenant
            await session.connection(
                execution_options={
                    "isolation_level": "REPEATABLE READ",
                    "postgresql_readonly": True,
                }
            )
            try:
                yield session
            finally:
                await session.rollback()

    @asynccontextmanager
    async def system_session(self) -> AsyncIterator[AsyncSession]:
        """A transaction with no tenant: it sees no tenant rows. It is for tables that are not
        tenant-owned and for the narrow SECURITY DEFINER functions that must cross tenants
        (outbox relay, channel routing)."""
        async with self._sessions() as session, session.begin():
            yield session

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
        await self.engine.dispose()
