"""Outbox and inbox tables (transactional outbox, consumer dedupe).

Revision ID: 0001
Revises:
"""

from parley_platform.events.schema import create_event_tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_event_tables()


def downgrade() -> None:
    raise NotImplementedError("forward-only migrations")
