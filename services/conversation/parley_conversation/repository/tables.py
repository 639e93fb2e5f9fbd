"""The service's tables, declared once as SQLAlchemy Core metadata: every column with its
type and nullability, every key, index and foreign key the migrations create. The
migrations in ../migrations build the schema (and hold what metadata cannot say: row-level
security, checks, defaults, functions); tests/test_schemas.py fails when the two differ.

Every table is a tenant table: `tenant_id` leads each key and index, and foreign keys are
composite `(tenant_id, ...)` because foreign-key checks bypass row-level security.
"""

from __future__ import annotations

from parley_platform.db.columns import tenant_id_column, timestamp_column
from parley_platform.events.schema import declare_event_tables
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKeyConstraint,
    Identity,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Table,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

metadata = MetaData()
declare_event_tables(metadata)


contacts = Table(
    "contacts",
    metadata,
    tenant_id_column(),
    Column("id", Uuid, primary_key=True),
    Column("wa_id", Text),
    Column("from_wa_id", Text),
    Column("bsuid", Text),
    Column("profile_name", Text),
    Column("username", Text),
    timestamp_column("created_at", nullable=False),
    timestamp_column("updated_at", nullable=False),
)
Index(
    "contacts_wa_id",
    contacts.c.tenant_id,
    contacts.c.wa_id,
    unique=True,
    postgresql_where=contacts.c.wa_id.is_not(None),
)
Index(
    "contacts_bsuid",
    contacts.c.tenant_id,
    contacts.c.bsuid,
    unique=True,
    postgresql_where=contacts.c.bsuid.is_not(None),
)

conversations = Table(
    "conversations",
    metadata,
    tenant_id_column(),
    Column("id", Uuid, primary_key=True),
    Column("contact_id", Uuid, nullable=False),
    Column("channel_id", Text, nullable=False),
    Column("phone_number_id", Text, nullable=False),
    Column("customer_key", Text, nullable=False),
    Column("state", Text, nullable=False),
    Column("assignee_user_id", Uuid),
    Column("assignee_team_id", Uuid),
    Column("labels", ARRAY(Text), nullable=False),
    Column("unread_count", Integer, nullable=False),
    timestamp_column("last_inbound_at"),
    timestamp_column("last_activity_at", nullable=False),
    Column("last_message_preview", Text),
    Column("ai_request_id", Uuid),
    Column("ai_request_message_id", Uuid),
    Column("version", BigInteger, nullable=False),
    timestamp_column("created_at", nullable=False),
    timestamp_column("updated_at", nullable=False),
    timestamp_column("closed_at"),
    ForeignKeyConstraint(["tenant_id", "contact_id"], ["contacts.tenant_id", "contacts.id"]),
    # One conversation per contact and channel: a closed one is reopened, not replaced.
    UniqueConstraint("tenant_id", "channel_id", "contact_id", name="conversations_one_per_contact"),
)
Index(
    "conversations_activity",
    conversations.c.tenant_id,
    conversations.c.last_activity_at.desc(),
    conversations.c.id.desc(),
)
Index(
    "conversations_assignee_user",
    conversations.c.tenant_id,
    conversations.c.assignee_user_id,
    conversations.c.last_activity_at.desc(),
)
Index(
    "conversations_assignee_team",
    conversations.c.tenant_id,
    conversations.c.assignee_team_id,
    conversations.c.last_activity_at.desc(),
)
Index("conversations_contact", conversations.c.tenant_id, conversations.c.contact_id)

messages = Table(
    "messages",
    metadata,
    tenant_id_column(),
    Column("id", Uuid, primary_key=True),
    Column("seq", BigInteger, Identity(always=True), nullable=False),
    Column("conversation_id", Uuid, nullable=False),
    Column("direction", Text, nullable=False),
    Column("author", Text, nullable=False),
    Column("author_user_id", Uuid),
    Column("type", Text, nullable=False),
    Column("content", JSONB, nullable=False),
    Column("text", Text),
    Column("wamid", Text),
    Column("reply_to_wamid", Text),
    Column("status", Text, nullable=False),
    timestamp_column("status_at"),
    Column("failure_reason", Text),
    Column("error", JSONB),
    Column("possible_duplicate", Boolean, nullable=False),
    Column("ai_request_id", Uuid),
    timestamp_column("occurred_at", nullable=False),
    timestamp_column("created_at", nullable=False),
    ForeignKeyConstraint(
        ["tenant_id", "conversation_id"], ["conversations.tenant_id", "conversations.id"]
    ),
)
Index(
    "messages_timeline",
    messages.c.tenant_id,
    messages.c.conversation_id,
    messages.c.occurred_at,
    messages.c.seq,
)
# "Was this AI request already answered?" (a repeated AI reply must not be sent twice).
Index(
    "messages_ai_request",
    messages.c.tenant_id,
    messages.c.ai_request_id,
    postgresql_where=messages.c.ai_request_id.is_not(None),
)

# Every WhatsApp message id we know, inbound or outbound (a long outbound text split in
# parts has several): the duplicate check for inbound and the join for statuses.
message_wamids = Table(
    "message_wamids",
    metadata,
    tenant_id_column(),
    Column("wamid", Text, primary_key=True),
    Column("message_id", Uuid, nullable=False),
    ForeignKeyConstraint(["tenant_id", "message_id"], ["messages.tenant_id", "messages.id"]),
)
Index("message_wamids_message", message_wamids.c.tenant_id, message_wamids.c.message_id)

conversation_transitions = Table(
    "conversation_transitions",
    metadata,
    tenant_id_column(),
    Column("id", BigInteger, Identity(always=True), primary_key=True),
    Column("conversation_id", Uuid, nullable=False),
    Column("from_state", Text, nullable=False),
    Column("to_state", Text, nullable=False),
    Column("from_assignee_user_id", Uuid),
    Column("from_assignee_team_id", Uuid),
    Column("to_assignee_user_id", Uuid),
    Column("to_assignee_team_id", Uuid),
    Column("actor_kind", Text, nullable=False),
    Column("actor_id", Text),
    Column("reason", Text, nullable=False),
    timestamp_column("at", nullable=False),
    ForeignKeyConstraint(
        ["tenant_id", "conversation_id"], ["conversations.tenant_id", "conversations.id"]
    ),
)
Index(
    "conversation_transitions_conversation",
    conversation_transitions.c.tenant_id,
    conversation_transitions.c.conversation_id,
    conversation_transitions.c.id,
)

# Statuses and media notices that arrived before the message they are about was known
# (they travel on other topics than the outcome or the inbound message).
early_updates = Table(
    "early_updates",
    metadata,
    tenant_id_column(),
    Column("id", BigInteger, Identity(always=True), primary_key=True),
    Column("wamid", Text, nullable=False),
    Column("kind", Text, nullable=False),
    Column("payload", LargeBinary, nullable=False),
    timestamp_column("received_at", nullable=False),
)
Index("early_updates_wamid", early_updates.c.tenant_id, early_updates.c.wamid)
# Housekeeping deletes by age across tenants.
Index("early_updates_received_at", early_updates.c.received_at)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    tenant_id_column(),
    Column("actor", Text, primary_key=True),
    Column("key", Text, primary_key=True),
    Column("request_hash", Text, nullable=False),
    Column("message_id", Uuid, nullable=False),
    timestamp_column("created_at", nullable=False),
    ForeignKeyConstraint(["tenant_id", "message_id"], ["messages.tenant_id", "messages.id"]),
)
Index("idempotency_keys_created_at", idempotency_keys.c.created_at)
