"""A tenant table the tests write side effects to.

Revision ID: 0002
"""

from alembic import op
from parley_platform.db.rls import enable_tenant_isolation

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE effects (
            id         bigserial,
            tenant_id  uuid NOT NULL,
            event_id   text NOT NULL,
            trace_id   text,
            note       text,
            PRIMARY KEY (tenant_id, id)
        )
        """
    )
    enable_tenant_isolation("effects")
