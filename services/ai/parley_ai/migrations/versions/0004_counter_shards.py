"""Usage counters are spread over shards, so concurrent answers of one tenant stop queueing
on one row.

Every answer adds to its tenant's (day, outcome) row inside the answer's transaction, and the
row stays locked until that transaction commits (a disk flush later): one tenant's answers
were written one at a time. Each row now has a `shard` (the writing backend's process id
modulo `COUNTER_SHARDS`); readers add the shards up. Existing rows become shard 0.

Revision ID: 0004
Revises: 0003
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table, key in (("ai_outcomes", "outcome"), ("ai_model_usage", "model")):
        op.execute(f"ALTER TABLE {table} ADD COLUMN shard smallint NOT NULL DEFAULT 0")
        op.execute(f"ALTER TABLE {table} DROP CONSTRAINT {table}_pkey")
        op.execute(f"ALTER TABLE {table} ADD PRIMARY KEY (tenant_id, day, {key}, shard)")


def downgrade() -> None:
    raise NotImplementedError("forward-only migrations")
