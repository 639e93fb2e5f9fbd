"""Outbox and inbox, exactly as services create them.

Revision ID: 0001
"""

from parley_platform.events.schema import create_event_tables, drop_outbox_insert_notify

revision = "0001"
down_revision = None


def upgrade() -> None:
    create_event_tables()
    drop_outbox_insert_notify()
