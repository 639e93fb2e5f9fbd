"""The service's tables as SQLAlchemy Core sees them (the schema itself is built by the
migrations in ../migrations; these definitions must match them)."""

from __future__ import annotations

from parley_platform.db.columns import tenant_id_column, timestamp_column
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Identity,
    Integer,
    LargeBinary,
    MetaData,
    Table,
    Text,
    Uuid,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

metadata = MetaData()


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
)

messages = Table(
    "messages",
    metadata,
    tenant_id_column(),
    Column("id", Uuid, primary_key=True),
    Column("seq", BigInteger, Identity()),
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
)

message_wamids = Table(
    "message_wamids",
    metadata,
    tenant_id_column(),
    Column("wamid", Text, primary_key=True),
    Column("message_id", Uuid, nullable=False),
)

conversation_transitions = Table(
    "conversation_transitions",
    metadata,
    tenant_id_column(),
    Column("id", BigInteger, Identity(), primary_key=True),
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
)

early_updates = Table(
    "early_updates",
    metadata,
    tenant_id_column(),
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("wamid", Text, nullable=False),
    Column("kind", Text, nullable=False),
    Column("payload", LargeBinary, nullable=False),
    timestamp_column("received_at", nullable=False),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    tenant_id_column(),
    Column("actor", Text, primary_key=True),
    Column("key", Text, primary_key=True),
    Column("request_hash", Text, nullable=False),
    Column("message_id", Uuid, nullable=False),
    timestamp_column("created_at", nullable=False),
)
