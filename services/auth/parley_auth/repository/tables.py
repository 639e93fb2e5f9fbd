"""The auth tables, declared once as SQLAlchemy Core metadata: every column, key, index and
foreign key the migrations in ../migrations build (tests/test_schemas.py fails when the two
differ). What metadata cannot say (row-level security, CHECK rules, the SECURITY DEFINER
look-ups) lives in the migrations only."""

from __future__ import annotations

from parley_platform.db.columns import tenant_id_column, timestamp_column
from parley_platform.events.schema import declare_event_tables
from sqlalchemy import (
    ARRAY,
    Boolean,
    Column,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Table,
    Text,
    Uuid,
    func,
    text,
)

# PostgreSQL's own names for constraints the migrations leave unnamed.
metadata = MetaData(naming_convention={"fk": "%(table_name)s_%(column_0_N_name)s_fkey"})
declare_event_tables(metadata)


def _tenant_foreign_key() -> ForeignKeyConstraint:
    return ForeignKeyConstraint(["tenant_id"], ["tenants.tenant_id"])


tenants = Table(
    "tenants",
    metadata,
    tenant_id_column(),
    Column("name", Text, nullable=False),
    timestamp_column("created_at", nullable=False),
    Column("plan", Text, nullable=False, server_default="standard"),
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
    # Access tokens issued before this instant are void (deactivation, role change, ...).
    timestamp_column("tokens_valid_after"),
    Column("invitation_digest", LargeBinary),
    timestamp_column("invitation_expires_at"),
    timestamp_column("created_at", nullable=False),
    timestamp_column("updated_at", nullable=False),
    _tenant_foreign_key(),
    # Global on purpose: one email address is one account across Parley, once its owner
    # proved it (a password set on confirming a sign-up or accepting an invitation).
    Index(
        "users_email_key",
        "email",
        unique=True,
        postgresql_where=text("password_hash IS NOT NULL"),
    ),
    Index("users_tenant_email_key", "tenant_id", "email", unique=True),
    Index("users_tenant_role", "tenant_id", "role", postgresql_where=text("active")),
)

teams = Table(
    "teams",
    metadata,
    tenant_id_column(),
    Column("id", Uuid, primary_key=True),
    Column("name", Text, nullable=False),
    timestamp_column("created_at", nullable=False),
    _tenant_foreign_key(),
)
Index("teams_tenant_name_key", teams.c.tenant_id, func.lower(teams.c.name), unique=True)

team_members = Table(
    "team_members",
    metadata,
    tenant_id_column(),
    Column("team_id", Uuid, primary_key=True),
    Column("user_id", Uuid, primary_key=True),
    timestamp_column("added_at", nullable=False),
    ForeignKeyConstraint(
        ["tenant_id", "team_id"], ["teams.tenant_id", "teams.id"], ondelete="CASCADE"
    ),
    ForeignKeyConstraint(
        ["tenant_id", "user_id"], ["users.tenant_id", "users.id"], ondelete="CASCADE"
    ),
    Index("team_members_user", "tenant_id", "user_id"),
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
    timestamp_column("created_at", nullable=False),
    timestamp_column("expires_at"),
    timestamp_column("revoked_at"),
    ForeignKeyConstraint(["tenant_id", "created_by"], ["users.tenant_id", "users.id"]),
)

refresh_tokens = Table(
    "refresh_tokens",
    metadata,
    tenant_id_column(),
    Column("id", Uuid, primary_key=True),
    Column("family_id", Uuid, nullable=False),
    Column("user_id", Uuid, nullable=False),
    Column("secret_digest", LargeBinary, nullable=False),
    timestamp_column("created_at", nullable=False),
    timestamp_column("expires_at", nullable=False),
    # Set when the token was exchanged for a new one: presenting it again is reuse.
    timestamp_column("rotated_at"),
    timestamp_column("revoked_at"),
    ForeignKeyConstraint(
        ["tenant_id", "user_id"], ["users.tenant_id", "users.id"], ondelete="CASCADE"
    ),
    Index("refresh_tokens_family", "tenant_id", "family_id"),
    Index(
        "refresh_tokens_user",
        "tenant_id",
        "user_id",
        postgresql_where=text("revoked_at IS NULL"),
    ),
    # Pruning crosses tenants (expired tokens of everyone), so expiry alone leads.
    Index("refresh_tokens_expires", "expires_at"),
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
    timestamp_column("created_at", nullable=False),
    timestamp_column("updated_at", nullable=False),
    _tenant_foreign_key(),
    # Global on purpose: Meta's number id routes a webhook to exactly one tenant.
    Index("whatsapp_channels_phone_number_id_key", "phone_number_id", unique=True),
)

# Not tenant data: the platform's token-signing keys (private halves sealed).
signing_keys = Table(
    "signing_keys",
    metadata,
    Column("kid", Text, primary_key=True),
    Column("public_key", LargeBinary, nullable=False),
    Column("private_key_sealed", LargeBinary, nullable=False),
    timestamp_column("created_at", nullable=False),
    timestamp_column("active_from", nullable=False),
)

# Sign-ups waiting for their email address to be confirmed, under the tenant id they create.
signup_requests = Table(
    "signup_requests",
    metadata,
    tenant_id_column(),
    Column("id", Uuid, primary_key=True),
    Column("email", Text, nullable=False),
    Column("company_name", Text, nullable=False),
    Column("owner_name", Text, nullable=False),
    Column("password_hash", Text, nullable=False),
    Column("secret_digest", LargeBinary, nullable=False),
    timestamp_column("expires_at", nullable=False),
    timestamp_column("created_at", nullable=False),
)
