"""AI settings per tenant, LLM usage per day and model, AI outcomes per day.

Every table is a tenant table under forced row-level security, `tenant_id` first in each key.

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
        CREATE TABLE ai_settings (
            tenant_id              uuid        NOT NULL PRIMARY KEY,
            provider               text        NOT NULL
                                   CHECK (provider IN ('extractive', 'openai-compatible')),
            preset                 text,
            base_url               text        NOT NULL,
            model                  text        NOT NULL,
            fallback_model         text        NOT NULL,
            api_key_sealed         bytea,
            temperature            double precision NOT NULL,
            max_answer_tokens      integer     NOT NULL,
            request_timeout_s      double precision NOT NULL,
            business_name          text        NOT NULL,
            persona                text        NOT NULL,
            tone                   text        NOT NULL,
            instructions           text        NOT NULL,
            handoff_threshold      double precision NOT NULL,
            monthly_budget_usd     numeric(14, 6),
            when_budget_exhausted  text        NOT NULL
                                   CHECK (when_budget_exhausted IN ('extractive', 'handoff')),
            model_prices           jsonb       NOT NULL DEFAULT '{}'::jsonb,
            updated_by             uuid,
            updated_at             timestamptz NOT NULL DEFAULT now()
        )
        """
    )
    op.execute(
        """
        CREATE TABLE ai_model_usage (
            tenant_id          uuid    NOT NULL,
            day                date    NOT NULL,
            model              text    NOT NULL,
            calls              bigint  NOT NULL DEFAULT 0,
            failed_calls       bigint  NOT NULL DEFAULT 0,
            prompt_tokens      bigint  NOT NULL DEFAULT 0,
            completion_tokens  bigint  NOT NULL DEFAULT 0,
            cost_usd           numeric(18, 8) NOT NULL DEFAULT 0,
            latency_ms_sum     bigint  NOT NULL DEFAULT 0,
            PRIMARY KEY (tenant_id, day, model)
        )
        """
    )
    op.execute(
        """
        CREATE TABLE ai_outcomes (
            tenant_id       uuid    NOT NULL,
            day             date    NOT NULL,
            outcome         text    NOT NULL,
            count           bigint  NOT NULL DEFAULT 0,
            latency_ms_sum  bigint  NOT NULL DEFAULT 0,
            latency_ms_max  bigint  NOT NULL DEFAULT 0,
            PRIMARY KEY (tenant_id, day, outcome)
        )
        """
    )
    for table in ("ai_settings", "ai_model_usage", "ai_outcomes"):
        enable_tenant_isolation(table)


def downgrade() -> None:
    raise NotImplementedError("forward-only migrations")
