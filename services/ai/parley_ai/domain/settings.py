"""A tenant's AI settings: which provider answers, how the business sounds, when to hand off,
and what the AI may spend. A tenant that never saved any gets the defaults: the extractive
provider, which needs no model and no key."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from parley_ai.domain.budget import WhenExhausted
from parley_ai.domain.pricing import Price


class Provider(StrEnum):
    EXTRACTIVE = "extractive"
    OPENAI_COMPATIBLE = "openai-compatible"


DEFAULT_HANDOFF_THRESHOLD = 0.6


@dataclass(frozen=True)
class AiSettings:
    """The settings as the AI uses them (the API key is kept apart, sealed)."""

    provider: Provider = Provider.EXTRACTIVE
    preset: str | None = None
    base_url: str = ""
    model: str = ""
    fallback_model: str = ""
    temperature: float = 0.2
    max_answer_tokens: int = 400
    request_timeout_s: float = 20.0
    business_name: str = ""
    persona: str = ""
    tone: str = ""
    instructions: str = ""
    handoff_threshold: float = DEFAULT_HANDOFF_THRESHOLD
    monthly_budget_usd: float | None = None
    when_budget_exhausted: WhenExhausted = WhenExhausted.EXTRACTIVE
    model_prices: dict[str, Price] = field(default_factory=dict)
    updated_at: datetime | None = None

    @property
    def models(self) -> tuple[str, ...]:
        """The models to try, in order (the fallback only when set and different)."""
        if self.fallback_model and self.fallback_model != self.model:
            return (self.model, self.fallback_model)
        return (self.model,)


@dataclass(frozen=True)
class StoredSettings:
    """A tenant's settings with its sealed API key (None: no key)."""

    settings: AiSettings
    sealed_api_key: bytes | None


def api_key_context(tenant_id: object) -> str:
    """What a sealed API key is bound to: it opens only in its own tenant's row."""
    return f"ai_settings:{tenant_id}:api_key"
