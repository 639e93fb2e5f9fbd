"""Tenant isolation in the database is enforced by PostgreSQL, not by our queries."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import pytest
from parley_platform.db import Database, UnsafeDatabaseRoleError, driver
from parley_platform.db.rls import tables_without_tenant_isolation
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError


async def _insert(db: Database, tenant: uuid.UUID, note: str) -> None:
    async with db.tenant_session(tenant) as session:
        await session.execute(
            text("INSERT INTO effects (tenant_id, event_id, note) VALUES (:t, :e, :n)"),
            {"t": str(tenant), "e": str(uuid.uuid4()), "n": note},
        )


async def test_a_tenant_sees_only_its_own_rows_without_any_where_clause(database: Database) -> None:
    tenant_a, tenant_b = uuid.uuid4(), uuid.uuid4()
    await _insert(database, tenant_a, "a's secret")
    await _insert(database, tenant_b, "b's note")

    async with database.tenant_session(tenant_b) as session:
        notes = (await session.execute(text("SELECT note FROM effects"))).scalars().all()
        updated = len(
            (await session.execute(text("UPDATE effects SET note = 'x' RETURNING 1"))).all()
        )
        deleted = len(
            (
                await session.execute(
                    text("DELETE FROM effects WHERE note = 'a''s secret' RETURNING 1")
                )
            ).all()
        )

    assert "a's secret" not in notes
    assert "b's note" in notes
    assert updated == 1  # only B's own row
    assert deleted == 0
    async with database.tenant_session(tenant_a) as session:
        assert (await session.execute(text("SELECT note FROM effects"))).scalars().all() == [
            "a's secret"
        ]


async def test_a_tenant_cannot_write_a_row_for_another_tenant(database: Database) -> None:
    tenant_a, tenant_b = uuid.uuid4(), uuid.uuid4()
    with pytest.raises(DBAPIError, match="row-level security"):
        async with database.tenant_session(tenant_b) as session:
            await session.execute(
                text("INSERT INTO effects (tenant_id, event_id, note) VALUES (:t, 'e', 'forged')"),
                {"t": str(tenant_a)},
            )
    async with database.tenant_session(tenant_a) as session:
        assert (await session.execute(text("SELECT count(*) FROM effects"))).scalar() == 0


async def test_a_session_without_a_tenant_sees_no_tenant_rows(database: Database) -> None:
    await _insert(database, uuid.uuid4(), "someone's")
    async with database.system_session() as session:
        assert (await session.execute(text("SELECT count(*) FROM effects"))).scalar() == 0


async def test_the_tenant_does_not_leak_to_the_next_transaction_on_a_pooled_connection(
    platform_db,
) -> None:
    db = Database(platform_db.app_url(), pool_size=1)  # one connection, reused
    try:
        tenant = uuid.uuid4()
        await _insert(db, tenant, "mine")
        async with db.tenant_session(tenant) as session:
            assert (await session.execute(text("SELECT count(*) FROM effects"))).scalar() == 1
        async with db.system_session() as session:
            assert (await session.execute(text("SELECT count(*) FROM effects"))).scalar() == 0
    finally:
        await db.dispose()


async def test_start_up_refuses_a_superuser_connection(infra, platform_db) -> None:
    superuser_url = infra.postgres_admin_dsn.replace("postgresql://", "postgresql+asyncpg://", 1)
    superuser_url = superuser_url.rsplit("/", 1)[0] + f"/{platform_db.database}"
    db = Database(superuser_url, pool_size=1)
    try:
        with pytest.raises(UnsafeDatabaseRoleError, match="superuser"):
            await db.verify_role()
    finally:
        await db.dispose()


async def test_start_up_refuses_the_table_owner(platform_db) -> None:
    db = Database(platform_db.owner_url(), pool_size=1)
    try:
        with pytest.raises(UnsafeDatabaseRoleError, match=r"BYPASSRLS|owns"):
            await db.verify_role()
    finally:
        await db.dispose()


async def test_start_up_accepts_the_app_role(database: Database) -> None:
    await database.verify_role()


async def test_every_table_with_a_tenant_column_is_isolated(database: Database) -> None:
    async with database.engine.connect() as conn:
        assert await tables_without_tenant_isolation(conn) == []


async def test_a_tenant_table_without_a_policy_is_reported(platform_db, database) -> None:
    owner = Database(platform_db.owner_url(), pool_size=1, instrument=False)
    try:
        async with owner.engine.begin() as conn:
            await conn.execute(text("CREATE TABLE forgotten (tenant_id uuid, note text)"))
        async with database.engine.connect() as conn:
            assert await tables_without_tenant_isolation(conn) == ["forgotten"]
    finally:
        async with owner.engine.begin() as conn:
            await conn.execute(text("DROP TABLE IF EXISTS forgotten"))
        await owner.dispose()


async def test_old_inbox_entries_are_pruned_and_recent_ones_kept(database: Database) -> None:
    from parley_platform.events.inbox import prune_inbox

    tenant = uuid.uuid4()
    async with database.tenant_session(tenant) as session:
        await session.execute(
            text(
                "INSERT INTO parley_inbox (tenant_id, consumer, event_id, processed_at) VALUES "
                "(:t, 'c', 'old', now() - interval '30 days'), (:t, 'c', 'recent', now())"
            ),
            {"t": str(tenant)},
        )
    assert await prune_inbox(database, keep_days=14) >= 1
    async with database.tenant_session(tenant) as session:
        kept = (await session.execute(text("SELECT event_id FROM parley_inbox"))).scalars().all()
    assert kept == ["recent"]


async def test_a_plain_snapshot_transaction_gives_the_same_guarantees(database: Database) -> None:
    tenant_a, tenant_b = uuid.uuid4(), uuid.uuid4()
    await _insert(database, tenant_a, "a before")
    await _insert(database, tenant_b, "b's note")
    count = "SELECT count(*) FROM effects"
    async with database.tenant_snapshot_transaction(tenant_a) as snapshot:
        assert (await driver.fetch_one(snapshot, count))[0] == 1  # type: ignore[index]
        await _insert(database, tenant_a, "a after")  # commits meanwhile
        assert (await driver.fetch_one(snapshot, count))[0] == 1  # type: ignore[index]
        with pytest.raises(asyncpg.PostgresError, match="read-only"):
            await driver.execute(
                snapshot,
                "INSERT INTO effects (tenant_id, event_id, note) VALUES ($1, 'e', 'x')",
                tenant_a,
            )
    async with database.tenant_snapshot_transaction(tenant_a) as later:
        assert (await driver.fetch_one(later, count))[0] == 2  # type: ignore[index]


async def test_plain_sql_on_the_session_connection_obeys_the_tenant_and_the_transaction(
    database: Database,
) -> None:
    tenant_a, tenant_b = uuid.uuid4(), uuid.uuid4()
    await _insert(database, tenant_a, "a's secret")
    insert = "INSERT INTO effects (tenant_id, event_id, note) VALUES ($1, $2, $3)"

    # The first statement of a transaction may be plain SQL: it runs inside the transaction.
    with pytest.raises(RuntimeError, match="abandon"):
        async with database.tenant_session(tenant_b) as session:
            await driver.execute(session, insert, tenant_b, str(uuid.uuid4()), "rolled back")
            raise RuntimeError("abandon the transaction")
    async with database.tenant_session(tenant_b) as session:
        await driver.execute(session, insert, tenant_b, str(uuid.uuid4()), "kept")
        seen = [r["note"] for r in await driver.fetch_all(session, "SELECT note FROM effects")]
    with pytest.raises(asyncpg.PostgresError, match="row-level security"):
        async with database.tenant_session(tenant_b) as session:
            await driver.execute(session, insert, tenant_a, str(uuid.uuid4()), "forged")

    assert seen == ["kept"]  # neither A's row nor the rolled-back one
    async with database.tenant_session(tenant_b) as session:
        mixed = (await session.execute(text("SELECT note FROM effects"))).scalars().all()
    assert mixed == ["kept"]


async def test_a_plain_transaction_binds_its_tenant_commits_and_rolls_back_like_a_session(
    platform_db,
) -> None:
    db = Database(platform_db.app_url(), pool_size=1)  # every transaction on one connection
    insert = "INSERT INTO effects (tenant_id, event_id, note) VALUES ($1, $2, $3)"
    try:
        tenant_a, tenant_b = uuid.uuid4(), uuid.uuid4()
        await _insert(db, tenant_a, "a's secret")
        with pytest.raises(RuntimeError, match="abandon"):
            async with db.tenant_transaction(tenant_b) as tx:
                await driver.execute(tx, insert, tenant_b, str(uuid.uuid4()), "rolled back")
                raise RuntimeError("abandon the transaction")
        async with db.tenant_transaction(tenant_b) as tx:
            await driver.execute(tx, insert, tenant_b, str(uuid.uuid4()), "kept")
            seen = [r["note"] for r in await driver.fetch_all(tx, "SELECT note FROM effects")]
        with pytest.raises(asyncpg.PostgresError, match="row-level security"):
            async with db.tenant_transaction(tenant_b) as tx:
                await driver.execute(tx, insert, tenant_a, str(uuid.uuid4()), "forged")
        # The next transaction on the same pooled connection carries no tenant.
        async with db.system_transaction() as tx:
            unseen = await driver.fetch_all(tx, "SELECT note FROM effects")
        async with db.tenant_session(tenant_b) as session:
            committed = (await session.execute(text("SELECT note FROM effects"))).scalars().all()

        assert seen == ["kept"]  # neither A's row nor the rolled-back one
        assert unseen == []
        assert committed == ["kept"]  # the session sees what the plain transaction committed
    finally:
        await db.dispose()


async def test_a_plain_transaction_cannot_run_a_sqlalchemy_statement_by_mistake(
    database: Database,
) -> None:
    async with database.tenant_transaction(uuid.uuid4()) as tx:
        with pytest.raises(driver.NeedsSqlAlchemySession, match="tenant_session"):
            driver.sqlalchemy_session(tx)


async def test_a_cancelled_plain_transaction_writes_nothing_and_its_connection_serves_on(
    platform_db,
) -> None:
    db = Database(platform_db.app_url(), pool_size=1)
    tenant = uuid.uuid4()

    async def abandoned() -> None:
        async with db.tenant_transaction(tenant) as tx:
            await driver.execute(
                tx,
                "INSERT INTO effects (tenant_id, event_id, note) VALUES ($1, 'e', 'never')",
                tenant,
            )
            await driver.execute(tx, "SELECT pg_sleep(30)")

    try:
        task = asyncio.create_task(abandoned())
        await asyncio.sleep(0.5)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        # Whichever pooled connection serves, none is still inside the abandoned transaction
        # (its BEGIN would only warn, and the row would be visible).
        for _ in range(3):
            async with db.tenant_transaction(tenant) as tx:
                assert await driver.fetch_all(tx, "SELECT note FROM effects") == []
    finally:
        await db.dispose()
