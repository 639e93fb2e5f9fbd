"""Outbound sends (idempotency and crash detection per message and part) and inbound media.

Revision ID: 0002
Revises: 0001
"""

from alembic import op
from parley_platform.db.rls import enable_tenant_isolation

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE outbound_messages (
            tenant_id           uuid        NOT NULL,
            message_id          text        NOT NULL,
            conversation_id     text        NOT NULL DEFAULT '',
            channel_id          text        NOT NULL DEFAULT '',
            phone_number_id     text        NOT NULL DEFAULT '',
            recipient           text        NOT NULL DEFAULT '',
            -- NULL while sending; then sent | failed | window_closed | channel_disconnected
            result              text,
            requests            integer     NOT NULL DEFAULT 0,
            possible_duplicate  boolean     NOT NULL DEFAULT false,
            error_code          bigint,
            reason              text        NOT NULL DEFAULT '',
            wamids              text[]      NOT NULL DEFAULT '{}',
            created_at          timestamptz NOT NULL DEFAULT now(),
            finished_at         timestamptz,
            PRIMARY KEY (tenant_id, message_id),
            CHECK (result IN ('sent', 'failed', 'window_closed', 'channel_disconnected'))
        )
        """
    )
    enable_tenant_isolation("outbound_messages")
    op.execute(
        """
        CREATE TABLE outbound_parts (
            tenant_id   uuid        NOT NULL,
            message_id  text        NOT NULL,
            part        integer     NOT NULL,
            -- in_flight: a request went out and no answer came back (yet): if the process
            -- dies or the request times out, a retry is a possible duplicate.
            state       text        NOT NULL CHECK (state IN ('in_flight', 'rejected', 'accepted')),
            wamid       text,
            requests    integer     NOT NULL DEFAULT 0,
            updated_at  timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (tenant_id, message_id, part),
            FOREIGN KEY (tenant_id, message_id)
                REFERENCES outbound_messages (tenant_id, message_id) ON DELETE CASCADE
        )
        """
    )
    enable_tenant_isolation("outbound_parts")
    op.execute(
        """
        CREATE TABLE media (
            tenant_id      uuid        NOT NULL,
            storage_id     uuid        NOT NULL,
            meta_media_id  text        NOT NULL,
            wamid          text        NOT NULL DEFAULT '',
            channel_id     text        NOT NULL DEFAULT '',
            kind           text        NOT NULL DEFAULT '',
            mime_type      text        NOT NULL DEFAULT '',
            filename       text        NOT NULL DEFAULT '',
            size_bytes     bigint      NOT NULL DEFAULT 0,
            sha256         text        NOT NULL DEFAULT '',
            content        bytea,
            error          text,
            created_at     timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (tenant_id, storage_id),
            UNIQUE (tenant_id, meta_media_id),
            CHECK ((content IS NULL) <> (error IS NULL))
        )
        """
    )
    enable_tenant_isolation("media")


def downgrade() -> None:
    raise NotImplementedError("forward-only migrations")
