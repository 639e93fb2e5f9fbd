"""The auth tables as SQLAlchemy Core sees them (the migrations are the source of truth)."""

from __future__ import annotations

from parley_platform.db.columns import tenant_id_column, timestamp_column
from sqlalchemy import (
    ARRAY,
    Boolean,
    Column,
    Integer,
    LargeBinary,
    MetaData,
    Table,
    Text,
    Uuid,
)

metadata = MetaData()


tenants = Table(
    "tenants",
    metadata,
    tenant_id_column(),
    Column("name", Text, nullable=False),
    timestamp_column("created_at"),
)

users = Table(
    "users",
    metadata,
    tenant_id_column(),
    Column("id", Uuid, primary_key=True),
    Column("email", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("role", Text, nullable=False),
    Column("password_hash", Text),
    Column("active", Boolean, nullable=False),
    timestamp_column("tokens_valid_after"),
    Column("invitation_digest", LargeBinary),
    timestamp_column("invitation_expires_at"),
    timestamp_column("created_at"),
    timestamp_column("updated_at"),
)

teams = Table(
    "teams",
    metadata,
    tenant_id_column(),
    Column("id", Uuid, primary_key=True),
    Column("name", Text, nullable=False),
    timestamp_column("created_at"),
)

team_members = Table(
    "team_members",
    metadata,
    tenant_id_column(),
    Column("team_id", Uuid, primary_key=True),
    Column("user_id", Uuid, primary_key=True),
    timestamp_column("added_at"),
)

api_keys = Table(
    "api_keys",
    metadata,
    tenant_id_column(),
    Column("id", Uuid, primary_key=True),
    Column("name", Text, nullable=False),
    Column("role", Text, nullable=False),
    Column("scopes", ARRAY(Text), nullable=False),
    Column("secret_digest", LargeBinary, nullable=False),
    Column("created_by", Uuid, nullable=False),
    timestamp_column("created_at"),
    timestamp_column("expires_at"),
    timestamp_column("revoked_at"),
)

refresh_tokens = Table(
    "refresh_tokens",
    metadata,
    tenant_id_column(),
    Column("id", Uuid, primary_key=True),
    Column("family_id", Uuid, nullable=False),
    Column("user_id", Uuid, nullable=False),
    Column("secret_digest", LargeBinary, nullable=False),
    timestamp_column("created_at"),
    timestamp_column("expires_at"),
    timestamp_column("rotated_at"),
    timestamp_column("revoked_at"),
)

whatsapp_channels = Table(
    "whatsapp_channels",
    metadata,
    tenant_id_column(),
    Column("id", Uuid, primary_key=True),
    Column("phone_number_id", Text, nullable=False),
    Column("waba_id", Text, nullable=False),
    Column("display_phone_number", Text, nullable=False),
    Column("access_token_sealed", LargeBinary, nullable=False),
    Column("app_secret_sealed", LargeBinary),
    Column("verify_token_sealed", LargeBinary, nullable=False),
    Column("messages_per_second", Integer, nullable=False),
    timestamp_column("disconnected_at"),
    Column("disconnect_reason", Text),
    timestamp_column("created_at"),
    timestamp_column("updated_at"),
)

signing_keys = Table(
    "signing_keys",
    metadata,
    Column("kid", Text, primary_key=True),
    Column("public_key", LargeBinary, nullable=False),
    Column("private_key_sealed", LargeBinary, nullable=False),
    timestamp_column("created_at"),
    timestamp_column("active_from"),
)
