"""Each tenant is on a plan (by name); the gateway's per-tenant request limits follow it.

Revision ID: 0003
Revises: 0002
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        ALTER TABLE tenants
          ADD COLUMN plan text NOT NULL DEFAULT 'standard'
              CHECK (plan ~ '^[a-z0-9][a-z0-9-]{0,39}$')
        """
    )


def downgrade() -> None:
    raise NotImplementedError("forward-only migrations")
