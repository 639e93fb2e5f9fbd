"""The service's tables as SQLAlchemy Core sees them (the schema itself is built by the
migrations in ../migrations; these definitions must match them)."""

from __future__ import annotations

from parley_platform.db.columns import tenant_id_column, timestamp_column
from parley_platform.events.schema import declare_event_tables
from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    Double,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    SmallInteger,
    Table,
    Text,
    Uuid,
)
from sqlalchemy.dialects.postgresql import JSONB

metadata = MetaData()
declare_event_tables(metadata)

# One row per tenant that changed its AI settings (a tenant without one uses the defaults:
# the extractive provider).
ai_settings = Table(
    "ai_settings",
    metadata,
    tenant_id_column(),
    Column("provider", Text, nullable=False),
    Column("preset", Text),
    Column("base_url", Text, nullable=False),
    Column("model", Text, nullable=False),
    Column("fallback_model", Text, nullable=False),
    Column("api_key_sealed", LargeBinary),
    Column("temperature", Double, nullable=False),
    Column("max_answer_tokens", Integer, nullable=False),
    Column("request_timeout_s", Double, nullable=False),
    Column("business_name", Text, nullable=False),
    Column("persona", Text, nullable=False),
    Column("tone", Text, nullable=False),
    Column("instructions", Text, nullable=False),
    Column("handoff_threshold", Double, nullable=False),
    Column("monthly_budget_usd", Numeric(14, 6)),
    Column("when_budget_exhausted", Text, nullable=False),
    Column("model_prices", JSONB, nullable=False),
    Column("updated_by", Uuid),
    timestamp_column("updated_at", nullable=False),
)

# LLM calls per tenant, day (UTC) and model: every attempt sent, failed ones included. Each
# counter is spread over shards that readers add up (repository.usage).
ai_model_usage = Table(
    "ai_model_usage",
    metadata,
    tenant_id_column(),
    Column("day", Date, primary_key=True),
    Column("model", Text, primary_key=True),
    Column("shard", SmallInteger, primary_key=True),
    Column("calls", BigInteger, nullable=False),
    Column("failed_calls", BigInteger, nullable=False),
    Column("prompt_tokens", BigInteger, nullable=False),
    Column("completion_tokens", BigInteger, nullable=False),
    Column("cost_usd", Numeric(18, 8), nullable=False),
    Column("latency_ms_sum", BigInteger, nullable=False),
)

# What the AI decided per tenant, day (UTC) and outcome (answer, clarification,
# handoff:<reason>, superseded), with the AI step's latency; in shards as above.
ai_outcomes = Table(
    "ai_outcomes",
    metadata,
    tenant_id_column(),
    Column("day", Date, primary_key=True),
    Column("outcome", Text, primary_key=True),
    Column("shard", SmallInteger, primary_key=True),
    Column("count", BigInteger, nullable=False),
    Column("latency_ms_sum", BigInteger, nullable=False),
    Column("latency_ms_max", BigInteger, nullable=False),
)
