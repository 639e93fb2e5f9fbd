"""Create a service's database and its two roles (run as a PostgreSQL superuser).

Each service owns one database. `<name>_owner` owns the schema and runs migrations; it has
BYPASSRLS so that the few SECURITY DEFINER functions it owns (outbox relay, routing look-ups)
can cross tenants, and services never hold its credentials. `<name>_app` is what the service
logs in as: no superuser, no BYPASSRLS, owns nothing, and gets DML rights on the owner's
tables through default privileges.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import quote

import asyncpg


@dataclass(frozen=True)
class ServiceDatabase:
    """Where one service's database lives and how its roles log in."""

    database: str
    owner_role: str
    owner_password: str
    app_role: str
    app_password: str
    host: str = "127.0.0.1"
    port: int = 5432
    extensions: Sequence[str] = ()

    def owner_url(self) -> str:
        """SQLAlchemy URL for migrations (owner role)."""
        return self._url(self.owner_role, self.owner_password)

    def app_url(self) -> str:
        """SQLAlchemy URL the service runs with (app role)."""
        return self._url(self.app_role, self.app_password)

    def _url(self, role: str, password: str) -> str:
        return (
            f"postgresql+asyncpg://{quote(role)}:{quote(password, safe='')}"
            f"@{self.host}:{self.port}/{quote(self.database)}"
        )


async def _execute_formatted(conn: asyncpg.Connection, template: str, *args: str) -> None:
    # Identifiers and literals are quoted by the server's format() (%I, %L), never by us.
    sql = await conn.fetchval(
        f"SELECT format($1, {', '.join(f'${i + 2}::text' for i in range(len(args)))})",
        template,
        *args,
    )
    await conn.execute(sql)


async def provision(admin_dsn: str, spec: ServiceDatabase) -> None:
    """Create (or update) the roles and database of `spec`; safe to run again."""
    conn = await asyncpg.connect(admin_dsn)
    try:
        for role, password, attributes in (
            (spec.owner_role, spec.owner_password, "LOGIN NOSUPERUSER BYPASSRLS"),
            (spec.app_role, spec.app_password, "LOGIN NOSUPERUSER NOBYPASSRLS NOINHERIT"),
        ):
            exists = await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", role)
            verb = "ALTER" if exists else "CREATE"
            await _execute_formatted(
                conn, f"{verb} ROLE %I {attributes} PASSWORD %L", role, password
            )
        if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", spec.database):
            await _execute_formatted(
                conn, "CREATE DATABASE %I OWNER %I", spec.database, spec.owner_role
            )
        await _execute_formatted(conn, "REVOKE ALL ON DATABASE %I FROM PUBLIC", spec.database)
        await _execute_formatted(
            conn, "GRANT CONNECT, TEMPORARY ON DATABASE %I TO %I", spec.database, spec.app_role
        )
    finally:
        await conn.close()

    db_conn = await asyncpg.connect(admin_dsn, database=spec.database)
    try:
        for extension in spec.extensions:
            await _execute_formatted(db_conn, "CREATE EXTENSION IF NOT EXISTS %I", extension)
        await _execute_formatted(db_conn, "ALTER SCHEMA public OWNER TO %I", spec.owner_role)
        await db_conn.execute("REVOKE ALL ON SCHEMA public FROM PUBLIC")
        await _execute_formatted(db_conn, "GRANT USAGE ON SCHEMA public TO %I", spec.app_role)
        for grant in (
            "GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO %I",
            "GRANT USAGE, SELECT ON SEQUENCES TO %I",
        ):
            await _execute_formatted(
                db_conn,
                f"ALTER DEFAULT PRIVILEGES FOR ROLE %I IN SCHEMA public {grant}",
                spec.owner_role,
                spec.app_role,
            )
    finally:
        await db_conn.close()


async def drop(admin_dsn: str, spec: ServiceDatabase) -> None:
    """Remove the database and roles of `spec` (test clean-up)."""
    conn = await asyncpg.connect(admin_dsn)
    try:
        await _execute_formatted(conn, "DROP DATABASE IF EXISTS %I WITH (FORCE)", spec.database)
        for role in (spec.app_role, spec.owner_role):
            await _execute_formatted(conn, "DROP ROLE IF EXISTS %I", role)
    finally:
        await conn.close()
