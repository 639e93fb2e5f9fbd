"""The outbox relay is woken after the commit, not by a NOTIFY inside it (see
`parley_platform.events.schema.drop_outbox_insert_notify`).

Revision ID: 0003
Revises: 0002
"""

from parley_platform.events.schema import drop_outbox_insert_notify

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    drop_outbox_insert_notify()


def downgrade() -> None:
    raise NotImplementedError("forward-only migrations")
