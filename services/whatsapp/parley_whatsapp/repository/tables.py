"""The service's tables, declared once as SQLAlchemy Core metadata: every column with its
type and nullability, every key and foreign key the migrations create. The migrations in
../migrations build the schema (and hold what metadata cannot say: row-level security,
checks, defaults); tests/test_schemas.py fails when the two differ.

Every table is a tenant table: `tenant_id` leads each key, and the foreign key is composite
`(tenant_id, ...)` because foreign-key checks bypass row-level security.
"""

from __future__ import annotations

from parley_platform.db.columns import tenant_id_column, timestamp_column
from parley_platform.events.schema import declare_event_tables
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKeyConstraint,
    Integer,
    LargeBinary,
    MetaData,
    Table,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.dialects.postgresql import ARRAY

metadata = MetaData()
declare_event_tables(metadata)

# One row per send command (its `message_id` is the idempotency key): `result` stays NULL
# until the outcome is known (sent | failed | window_closed | channel_disconnected).
outbound_messages = Table(
    "outbound_messages",
    metadata,
    tenant_id_column(),
    Column("message_id", Text, primary_key=True),
    Column("conversation_id", Text, nullable=False),
    Column("channel_id", Text, nullable=False),
    Column("phone_number_id", Text, nullable=False),
    Column("recipient", Text, nullable=False),
    Column("result", Text),
    Column("requests", Integer, nullable=False),
    Column("possible_duplicate", Boolean, nullable=False),
    Column("error_code", BigInteger),
    Column("reason", Text, nullable=False),
    Column("wamids", ARRAY(Text), nullable=False),
    timestamp_column("created_at", nullable=False),
    timestamp_column("finished_at"),
)

# One row per request of a command (a long text is split into several): `in_flight` from
# just before the request leaves until Meta's definite answer (`accepted`, `rejected`).
outbound_parts = Table(
    "outbound_parts",
    metadata,
    tenant_id_column(),
    Column("message_id", Text, primary_key=True),
    Column("part", Integer, primary_key=True),
    Column("state", Text, nullable=False),
    Column("wamid", Text),
    Column("requests", Integer, nullable=False),
    timestamp_column("updated_at", nullable=False),
    ForeignKeyConstraint(
        ["tenant_id", "message_id"],
        ["outbound_messages.tenant_id", "outbound_messages.message_id"],
        ondelete="CASCADE",
    ),
)

# Inbound media files (bytes, or why they could not be fetched), once per Meta media id.
media = Table(
    "media",
    metadata,
    tenant_id_column(),
    Column("storage_id", Uuid, primary_key=True),
    Column("meta_media_id", Text, nullable=False),
    Column("wamid", Text, nullable=False),
    Column("channel_id", Text, nullable=False),
    Column("kind", Text, nullable=False),
    Column("mime_type", Text, nullable=False),
    Column("filename", Text, nullable=False),
    Column("size_bytes", BigInteger, nullable=False),
    Column("sha256", Text, nullable=False),
    Column("content", LargeBinary),
    Column("error", Text),
    timestamp_column("created_at", nullable=False),
    UniqueConstraint("tenant_id", "meta_media_id"),
)
