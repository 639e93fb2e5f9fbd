"""The outbox and inbox tables every event-producing or -consuming service has.

Both are tenant tables under row-level security. The relay must read every tenant's outbox
rows, so it goes through two SECURITY DEFINER functions owned by the (BYPASSRLS) owner role:
the only cross-tenant door, narrow and named.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, LargeBinary, MetaData, Table, Text, Uuid
from sqlalchemy.dialects.postgresql import JSONB

from parley_platform.db.columns import timestamp_column

OUTBOX_TABLE = "parley_outbox"
INBOX_TABLE = "parley_inbox"
OUTBOX_CHANNEL = "parley_outbox"  # NOTIFY channel that wakes a relay in another replica


def declare_event_tables(metadata: MetaData) -> None:
    """Add the outbox and inbox, as `create_event_tables` builds them, to a service's
    metadata (so that its schema check covers them too)."""

    Table(
        OUTBOX_TABLE,
        metadata,
        Column("id", BigInteger, primary_key=True),
        Column("tenant_id", Uuid, nullable=False),
        Column("event_id", Text, nullable=False),
        Column("topic", Text, nullable=False),
        Column("key", LargeBinary, nullable=False),
        Column("payload", LargeBinary, nullable=False),
        Column("headers", JSONB, nullable=False),
        timestamp_column("created_at", nullable=False),
    )
    Table(
        INBOX_TABLE,
        metadata,
        Column("tenant_id", Uuid, primary_key=True),
        Column("consumer", Text, primary_key=True),
        Column("event_id", Text, primary_key=True),
        timestamp_column("processed_at", nullable=False),
        Index(f"{INBOX_TABLE}_processed_at", "processed_at"),
    )


def create_event_tables() -> None:
    """Migration step: create the outbox, the inbox and their functions."""
    # Imported here: services import this module at run time (table names), and Alembic is
    # only needed by migrations.
    from alembic import op

    from parley_platform.db.rls import enable_tenant_isolation

    op.execute(
        f"""
        CREATE TABLE {OUTBOX_TABLE} (
            id          bigserial PRIMARY KEY,
            tenant_id   uuid        NOT NULL,
            event_id    text        NOT NULL,
            topic       text        NOT NULL,
            key         bytea       NOT NULL,
            payload     bytea       NOT NULL,
            headers     jsonb       NOT NULL,
            created_at  timestamptz NOT NULL DEFAULT now()
        )
        """
    )
    enable_tenant_isolation(OUTBOX_TABLE)
    op.execute(
        f"""
        CREATE FUNCTION parley_outbox_claim(batch_size integer)
        RETURNS SETOF {OUTBOX_TABLE}
        LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
            SELECT * FROM public.{OUTBOX_TABLE} ORDER BY id LIMIT batch_size
               FOR UPDATE SKIP LOCKED
        $$
        """
    )
    op.execute(
        f"""
        CREATE FUNCTION parley_outbox_delete(ids bigint[]) RETURNS void
        LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
            DELETE FROM public.{OUTBOX_TABLE} WHERE id = ANY(ids)
        $$
        """
    )
    op.execute(
        f"""
        CREATE FUNCTION parley_outbox_pending() RETURNS bigint
        LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
            SELECT count(*) FROM public.{OUTBOX_TABLE}
        $$
        """
    )
    op.execute(
        f"""
        CREATE FUNCTION parley_outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('{OUTBOX_CHANNEL}', '');
            RETURN NULL;
        END $$
        """
    )
    op.execute(
        f"""
        CREATE TRIGGER parley_outbox_notify AFTER INSERT ON {OUTBOX_TABLE}
        FOR EACH STATEMENT EXECUTE FUNCTION parley_outbox_notify()
        """
    )
    op.execute(
        f"""
        CREATE TABLE {INBOX_TABLE} (
            tenant_id     uuid        NOT NULL,
            consumer      text        NOT NULL,
            event_id      text        NOT NULL,
            processed_at  timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (tenant_id, consumer, event_id)
        )
        """
    )
    op.execute(f"CREATE INDEX {INBOX_TABLE}_processed_at ON {INBOX_TABLE} (processed_at)")
    enable_tenant_isolation(INBOX_TABLE)
    op.execute(
        f"""
        CREATE FUNCTION parley_inbox_prune(keep interval) RETURNS bigint
        LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
            WITH gone AS (DELETE FROM public.{INBOX_TABLE} WHERE processed_at < now() - keep
                          RETURNING 1)
            SELECT count(*) FROM gone
        $$
        """
    )


def drop_outbox_insert_notify() -> None:
    """Migration step: the outbox no longer NOTIFYs inside the writing transaction.

    A NOTIFY holds a database-wide lock from its transaction's commit until the commit is
    durable, so with the trigger every event-writing commit of the service waited for the
    previous one's WAL flush (measured: 0.66 times the commits per second). The writer's
    process wakes its relay after the commit instead (`Database.when_events_commit`)."""
    from alembic import op

    op.execute("DROP TRIGGER IF EXISTS parley_outbox_notify ON " + OUTBOX_TABLE)
    op.execute("DROP FUNCTION IF EXISTS parley_outbox_notify()")
