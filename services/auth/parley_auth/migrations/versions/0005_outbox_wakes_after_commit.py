"""The outbox relay is woken after the commit, not by a NOTIFY inside it (see
`parley_platform.events.schema.drop_outbox_insert_notify`).

Revision ID: 0005
Revises: 0004
"""

from parley_platform.events.schema import drop_outbox_insert_notify

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    drop_outbox_insert_notify()


def downgrade() -> None:
    raise NotImplementedError("forward-only migrations")
