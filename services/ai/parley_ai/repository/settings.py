"""The tenant's AI settings row (one per tenant, absent until first saved).

Reading it is plain SQL (`parley_platform.db.driver`): the responder reads it whenever its
cache of a tenant's settings expires, in a plain tenant transaction; saving (an API call)
stays a SQLAlchemy upsert in a tenant session."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from parley_platform.db import driver
from sqlalchemy import func
from sqlalchemy.dialects.postgresql import insert

from parley_ai.domain.budget import WhenExhausted
from parley_ai.domain.pricing import Price
from parley_ai.domain.settings import AiSettings, Provider, StoredSettings
from parley_ai.repository.tables import ai_settings

_LOAD = (
    f"SELECT {driver.columns(ai_settings)} FROM ai_settings "  # noqa: S608 - constant columns
    "WHERE tenant_id = $1"
)


def _prices_to_json(prices: dict[str, Price]) -> dict[str, dict[str, float]]:
    return {
        model: {
            "input_per_million": p.input_per_million,
            "output_per_million": p.output_per_million,
        }
        for model, p in prices.items()
    }


def _prices_from_json(raw: Any) -> dict[str, Price]:
    return {
        str(model): Price(float(p["input_per_million"]), float(p["output_per_million"]))
        for model, p in (raw or {}).items()
    }


class SettingsRepository:
    """The AI settings of one tenant, inside that tenant's transaction (reads in a plain
    transaction or a session, the save in a session)."""

    def __init__(self, session: driver.SqlSession, tenant_id: UUID) -> None:
        self._session = session
        self._tenant_id = tenant_id

    async def load(self) -> StoredSettings:
        """The tenant's settings (the defaults if it never saved any)."""
        row = await driver.fetch_one(self._session, _LOAD, self._tenant_id)
        if row is None:
            return StoredSettings(AiSettings(), None)
        return StoredSettings(
            AiSettings(
                provider=Provider(row["provider"]),
                preset=row["preset"],
                base_url=row["base_url"],
                model=row["model"],
                fallback_model=row["fallback_model"],
                temperature=row["temperature"],
                max_answer_tokens=row["max_answer_tokens"],
                request_timeout_s=row["request_timeout_s"],
                business_name=row["business_name"],
                persona=row["persona"],
                tone=row["tone"],
                instructions=row["instructions"],
                handoff_threshold=row["handoff_threshold"],
                monthly_budget_usd=(
                    float(row["monthly_budget_usd"])
                    if row["monthly_budget_usd"] is not None
                    else None
                ),
                when_budget_exhausted=WhenExhausted(row["when_budget_exhausted"]),
                model_prices=_prices_from_json(row["model_prices"]),
                updated_at=row["updated_at"],
            ),
            row["api_key_sealed"],
        )

    async def save(
        self, settings: AiSettings, sealed_api_key: bytes | None, *, updated_by: UUID | None
    ) -> None:
        """Store `settings` and the sealed key (None: no key) as the tenant's."""
        values = {
            "provider": settings.provider.value,
            "preset": settings.preset,
            "base_url": settings.base_url,
            "model": settings.model,
            "fallback_model": settings.fallback_model,
            "api_key_sealed": sealed_api_key,
            "temperature": settings.temperature,
            "max_answer_tokens": settings.max_answer_tokens,
            "request_timeout_s": settings.request_timeout_s,
            "business_name": settings.business_name,
            "persona": settings.persona,
            "tone": settings.tone,
            "instructions": settings.instructions,
            "handoff_threshold": settings.handoff_threshold,
            "monthly_budget_usd": settings.monthly_budget_usd,
            "when_budget_exhausted": settings.when_budget_exhausted.value,
            "model_prices": _prices_to_json(settings.model_prices),
            "updated_by": updated_by,
            "updated_at": func.now(),
        }
        statement = insert(ai_settings).values(tenant_id=self._tenant_id, **values)
        await driver.sqlalchemy_session(self._session).execute(
            statement.on_conflict_do_update(index_elements=[ai_settings.c.tenant_id], set_=values)
        )
