"""Contacts, conversations, messages, ownership transitions, early delivery updates and
idempotency keys.

Every table is a tenant table: `tenant_id` leads each primary key, unique constraint and
index, foreign keys are composite `(tenant_id, ...)` (foreign-key checks bypass row-level
security), and row-level security is forced on each.

Revision ID: 0002
Revises: 0001
"""

from alembic import op
from parley_platform.db.rls import enable_tenant_isolation

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TABLES = (
    "contacts",
    "conversations",
    "messages",
    "message_wamids",
    "conversation_transitions",
    "early_updates",
    "idempotency_keys",
)


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE contacts (
            tenant_id     uuid        NOT NULL,
            id            uuid        NOT NULL,
            wa_id         text,
            from_wa_id    text,
            bsuid         text,
            profile_name  text,
            username      text,
            created_at    timestamptz NOT NULL DEFAULT now(),
            updated_at    timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (tenant_id, id),
            CONSTRAINT contacts_identified CHECK (wa_id IS NOT NULL OR bsuid IS NOT NULL)
        )
        """
    )
    op.execute(
        "CREATE UNIQUE INDEX contacts_wa_id ON contacts (tenant_id, wa_id) WHERE wa_id IS NOT NULL"
    )
    op.execute(
        "CREATE UNIQUE INDEX contacts_bsuid ON contacts (tenant_id, bsuid) WHERE bsuid IS NOT NULL"
    )

    op.execute(
        """
        CREATE TABLE conversations (
            tenant_id              uuid        NOT NULL,
            id                     uuid        NOT NULL,
            contact_id             uuid        NOT NULL,
            channel_id             text        NOT NULL,
            phone_number_id        text        NOT NULL,
            customer_key           text        NOT NULL,
            state                  text        NOT NULL
                CHECK (state IN ('ai', 'waiting_human', 'human', 'closed')),
            assignee_user_id       uuid,
            assignee_team_id       uuid,
            labels                 text[]      NOT NULL DEFAULT '{}',
            unread_count           integer     NOT NULL DEFAULT 0 CHECK (unread_count >= 0),
            last_inbound_at        timestamptz,
            last_activity_at       timestamptz NOT NULL,
            last_message_preview   text,
            ai_request_id          uuid,
            ai_request_message_id  uuid,
            version                bigint      NOT NULL DEFAULT 1,
            created_at             timestamptz NOT NULL DEFAULT now(),
            updated_at             timestamptz NOT NULL DEFAULT now(),
            closed_at              timestamptz,
            PRIMARY KEY (tenant_id, id),
            FOREIGN KEY (tenant_id, contact_id) REFERENCES contacts (tenant_id, id),
            CONSTRAINT conversations_one_per_contact UNIQUE (tenant_id, channel_id, contact_id)
        )
        """
    )
    op.execute(
        "CREATE INDEX conversations_activity "
        "ON conversations (tenant_id, last_activity_at DESC, id DESC)"
    )
    op.execute(
        "CREATE INDEX conversations_assignee_user "
        "ON conversations (tenant_id, assignee_user_id, last_activity_at DESC)"
    )
    op.execute(
        "CREATE INDEX conversations_assignee_team "
        "ON conversations (tenant_id, assignee_team_id, last_activity_at DESC)"
    )
    op.execute("CREATE INDEX conversations_contact ON conversations (tenant_id, contact_id)")

    op.execute(
        """
        CREATE TABLE messages (
            tenant_id           uuid        NOT NULL,
            id                  uuid        NOT NULL,
            seq                 bigint      GENERATED ALWAYS AS IDENTITY,
            conversation_id     uuid        NOT NULL,
            direction           text        NOT NULL
                CHECK (direction IN ('inbound', 'outbound', 'internal')),
            author              text        NOT NULL
                CHECK (author IN ('customer', 'ai', 'agent', 'system')),
            author_user_id      uuid,
            type                text        NOT NULL,
            content             jsonb       NOT NULL,
            text                text,
            wamid               text,
            reply_to_wamid      text,
            status              text        NOT NULL,
            status_at           timestamptz,
            failure_reason      text,
            error               jsonb,
            possible_duplicate  boolean     NOT NULL DEFAULT false,
            ai_request_id       uuid,
            occurred_at         timestamptz NOT NULL,
            created_at          timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (tenant_id, id),
            FOREIGN KEY (tenant_id, conversation_id) REFERENCES conversations (tenant_id, id)
        )
        """
    )
    op.execute(
        "CREATE INDEX messages_timeline ON messages (tenant_id, conversation_id, occurred_at, seq)"
    )
    # "Was this AI request already answered?" (a repeated AI reply must not be sent twice).
    op.execute(
        "CREATE INDEX messages_ai_request ON messages (tenant_id, ai_request_id) "
        "WHERE ai_request_id IS NOT NULL"
    )

    # Every WhatsApp message id we know, inbound or outbound (a long outbound text split in
    # parts has several): the duplicate check for inbound and the join for statuses.
    op.execute(
        """
        CREATE TABLE message_wamids (
            tenant_id   uuid NOT NULL,
            wamid       text NOT NULL,
            message_id  uuid NOT NULL,
            PRIMARY KEY (tenant_id, wamid),
            FOREIGN KEY (tenant_id, message_id) REFERENCES messages (tenant_id, id)
        )
        """
    )
    op.execute("CREATE INDEX message_wamids_message ON message_wamids (tenant_id, message_id)")

    op.execute(
        """
        CREATE TABLE conversation_transitions (
            tenant_id                uuid        NOT NULL,
            id                       bigint      GENERATED ALWAYS AS IDENTITY,
            conversation_id          uuid        NOT NULL,
            from_state               text        NOT NULL,
            to_state                 text        NOT NULL,
            from_assignee_user_id    uuid,
            from_assignee_team_id    uuid,
            to_assignee_user_id      uuid,
            to_assignee_team_id      uuid,
            actor_kind               text        NOT NULL,
            actor_id                 text,
            reason                   text        NOT NULL,
            at                       timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (tenant_id, id),
            FOREIGN KEY (tenant_id, conversation_id) REFERENCES conversations (tenant_id, id)
        )
        """
    )
    op.execute(
        "CREATE INDEX conversation_transitions_conversation "
        "ON conversation_transitions (tenant_id, conversation_id, id)"
    )

    # Statuses and media notices that arrived before the message they are about was known
    # (they travel on other topics than the outcome or the inbound message).
    op.execute(
        """
        CREATE TABLE early_updates (
            tenant_id    uuid        NOT NULL,
            id           bigint      GENERATED ALWAYS AS IDENTITY,
            wamid        text        NOT NULL,
            kind         text        NOT NULL CHECK (kind IN ('status', 'media')),
            payload      bytea       NOT NULL,
            received_at  timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (tenant_id, id)
        )
        """
    )
    op.execute("CREATE INDEX early_updates_wamid ON early_updates (tenant_id, wamid)")
    op.execute("CREATE INDEX early_updates_received_at ON early_updates (received_at)")

    op.execute(
        """
        CREATE TABLE idempotency_keys (
            tenant_id     uuid        NOT NULL,
            actor         text        NOT NULL,
            key           text        NOT NULL,
            request_hash  text        NOT NULL,
            message_id    uuid        NOT NULL,
            created_at    timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (tenant_id, actor, key),
            FOREIGN KEY (tenant_id, message_id) REFERENCES messages (tenant_id, id)
        )
        """
    )
    op.execute("CREATE INDEX idempotency_keys_created_at ON idempotency_keys (created_at)")

    for table in TABLES:
        enable_tenant_isolation(table)

    # Housekeeping crosses tenants, so it goes through one narrow SECURITY DEFINER function
    # owned by the (BYPASSRLS) owner role: it can only delete rows older than `keep`.
    op.execute(
        """
        CREATE FUNCTION conversation_prune(keep_early_updates interval,
                                           keep_idempotency_keys interval)
        RETURNS bigint
        LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
            WITH early AS (
                DELETE FROM public.early_updates WHERE received_at < now() - keep_early_updates
                RETURNING 1
            ), keys AS (
                DELETE FROM public.idempotency_keys
                 WHERE created_at < now() - keep_idempotency_keys
                RETURNING 1
            )
            SELECT (SELECT count(*) FROM early) + (SELECT count(*) FROM keys)
        $$
        """
    )


def downgrade() -> None:
    raise NotImplementedError("forward-only migrations")
