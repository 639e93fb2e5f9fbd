"""Settings of the ai service (environment variables `PARLEY_AI_*`).

Per-tenant choices (provider, models, persona, threshold, budget) are not here: tenants save
them through `PUT /api/v1/ai/settings`. These are the operator's: limits, timeouts, the
breaker and retry policy, prices, and the key that seals tenants' provider keys.
"""

from __future__ import annotations

from typing import ClassVar

from parley_platform.settings import Environment, ServiceSettings, service_config
from pydantic import Field, SecretStr, model_validator

from parley_ai.domain.presets import DEFAULT_PRICES
from parley_ai.domain.pricing import Price
from parley_ai.domain.prompt import Budgets
from parley_ai.llm.breaker import BreakerPolicy
from parley_ai.llm.chain import RetryPolicy


def _default_prices() -> dict[str, tuple[float, float]]:
    return {
        model: (p.input_per_million, p.output_per_million) for model, p in DEFAULT_PRICES.items()
    }


class Settings(ServiceSettings):
    """The AI responder."""

    model_config = service_config("ai")
    service_name: ClassVar[str] = "ai"

    http_port: int = 8083

    knowledge_grpc_target: str = "127.0.0.1:50052"
    # Seals tenants' provider API keys at rest (AES-256-GCM, a key derived per purpose).
    encryption_key: SecretStr = SecretStr("dev-insecure-ai-encryption-key")

    # AI requests of different conversations handled at once (one conversation's stay in
    # order). They wait on the model, not the CPU.
    consumer_concurrency: int = Field(default=64, ge=1, le=1000)

    # Retrieval: passages asked of the knowledge service per question, and how long and how
    # often to try before handing off (the customer must not wait in silence).
    retrieval_top_k: int = Field(default=6, ge=1, le=50)
    knowledge_timeout_s: float = Field(default=2.0, gt=0)
    knowledge_attempts: int = Field(default=3, ge=1, le=10)

    # The extractive provider: the longest excerpt it quotes.
    extractive_excerpt_chars: int = Field(default=700, ge=100, le=3500)

    # Prompt budgets (estimated tokens).
    prompt_passage_tokens: int = Field(default=2500, ge=200)
    prompt_history_tokens: int = Field(default=1200, ge=0)

    # Retries of one model (only 429, 5xx, timeouts and unreachable providers).
    llm_max_attempts: int = Field(default=3, ge=1, le=10)
    llm_backoff_initial_s: float = Field(default=0.5, ge=0)
    llm_backoff_max_s: float = Field(default=4.0, ge=0)
    llm_max_retry_after_s: float = Field(default=10.0, ge=0)

    # The circuit breaker of each provider+model, shared by replicas through Redis.
    breaker_threshold: int = Field(default=5, ge=1)
    breaker_window_s: float = Field(default=60.0, gt=0)
    breaker_open_s: float = Field(default=30.0, gt=0)
    breaker_probe_lease_s: float = Field(default=30.0, gt=0)

    # A tenant's settings are read at most this often per replica (a change made through
    # another replica applies within this time; through this one, at once).
    settings_cache_ttl_s: float = Field(default=5.0, ge=0)

    # Saving settings makes a test call with this timeout.
    validation_timeout_s: float = Field(default=15.0, gt=0)

    # US dollars per million tokens, input then output, per model (JSON:
    # {"anthropic/claude-3-haiku": [0.25, 1.25]}); tenants may add their own models' prices.
    model_prices: dict[str, tuple[float, float]] = Field(default_factory=_default_prices)

    # May a tenant point the AI at a provider on a private, loopback or link-local address?
    # Unset: yes in development and test (local models, the stand-in), no in production,
    # where such a URL would let a tenant make the service call internal systems.
    allow_private_provider_urls: bool | None = None

    @model_validator(mode="after")
    def _private_urls_default(self) -> Settings:
        if self.allow_private_provider_urls is None:
            self.allow_private_provider_urls = self.environment != Environment.PRODUCTION
        return self

    @model_validator(mode="after")
    def _prices_not_negative(self) -> Settings:
        if any(value < 0 for pair in self.model_prices.values() for value in pair):
            raise ValueError(f"{self.env_name('model_prices')}: prices must not be negative")
        return self

    def prices(self) -> dict[str, Price]:
        return {model: Price(*pair) for model, pair in self.model_prices.items()}

    def breaker_policy(self) -> BreakerPolicy:
        return BreakerPolicy(
            threshold=self.breaker_threshold,
            window_s=self.breaker_window_s,
            open_s=self.breaker_open_s,
            probe_lease_s=self.breaker_probe_lease_s,
        )

    def retry_policy(self) -> RetryPolicy:
        return RetryPolicy(
            max_attempts=self.llm_max_attempts,
            backoff_initial_s=self.llm_backoff_initial_s,
            backoff_max_s=self.llm_backoff_max_s,
            max_retry_after_s=self.llm_max_retry_after_s,
        )

    def prompt_budgets(self) -> Budgets:
        return Budgets(passages=self.prompt_passage_tokens, history=self.prompt_history_tokens)
