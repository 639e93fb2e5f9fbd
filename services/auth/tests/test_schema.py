"""The database underneath: row-level security on every auth table, and the cross-tenant
look-ups return ids only."""

from __future__ import annotations

import uuid

import pytest
from parley_platform.db import Database
from parley_platform.db.rls import tables_without_tenant_isolation
from sqlalchemy import text

TENANT_TABLES = {
    "tenants",
    "users",
    "teams",
    "team_members",
    "api_keys",
    "refresh_tokens",
    "whatsapp_channels",
    "signup_requests",
    "parley_outbox",
    "parley_inbox",
}


@pytest.fixture
async def database(edge):
    db = Database(edge.auth_settings.database_url.get_secret_value(), pool_size=2)
    yield db
    await db.dispose()


async def test_every_tenant_table_is_under_forced_row_level_security(database) -> None:
    async with database.engine.connect() as conn:
        assert await tables_without_tenant_isolation(conn) == []
        tables = {
            row[0]
            for row in await conn.execute(
                text(
                    "SELECT c.relname FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid "
                    "WHERE a.attname = 'tenant_id' AND c.relkind = 'r' "
                    "AND c.relnamespace = 'public'::regnamespace"
                )
            )
        }
    assert tables == TENANT_TABLES


async def test_the_service_role_sees_only_the_sessions_tenant(database, two_tenants) -> None:
    a, b = two_tenants
    async with database.tenant_session(a.owner.tenant_id) as session:
        for table in TENANT_TABLES - {"parley_outbox", "parley_inbox"}:
            tenants = (
                (
                    await session.execute(text(f"SELECT DISTINCT tenant_id FROM {table}"))  # noqa: S608
                )
                .scalars()
                .all()
            )
            # Confirmed sign-ups leave no request behind: that table may be empty.
            expected = [[a.tenant_id], []] if table == "signup_requests" else [[a.tenant_id]]
            assert [str(t) for t in tenants] in expected, table
        # Writing a row for another tenant is refused by the policy, not by the app.
        with pytest.raises(Exception, match="row-level security"):
            async with session.begin_nested():
                await session.execute(
                    text("INSERT INTO teams (tenant_id, id, name) VALUES (:t, :id, 'x')"),
                    {"t": b.tenant_id, "id": str(uuid.uuid4())},
                )
    async with database.system_session() as session:
        assert (await session.execute(text("SELECT count(*) FROM users"))).scalar() == 0


async def test_cross_tenant_lookups_answer_ids_only(database, two_tenants) -> None:
    a, _ = two_tenants
    async with database.system_session() as session:
        row = (
            (
                await session.execute(
                    text("SELECT * FROM auth_account_of_email(:e)"), {"e": a.owner.email}
                )
            )
            .mappings()
            .one()
        )
        assert set(row) == {"tenant_id", "user_id"}
        assert str(row["tenant_id"]) == a.tenant_id
        channel = (
            (
                await session.execute(
                    text("SELECT * FROM auth_channel_of_phone_number_id(:p)"),
                    {"p": a.channel["phone_number_id"]},
                )
            )
            .mappings()
            .one()
        )
        assert set(channel) == {"tenant_id", "channel_id"}
        missing = await session.execute(text("SELECT auth_tenant_of_api_key(gen_random_uuid())"))
        assert missing.scalar() is None
