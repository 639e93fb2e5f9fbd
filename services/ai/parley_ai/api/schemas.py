"""Request and response bodies of the AI API.

Request bodies refuse unknown fields: the tenant always comes from the verified principal.
The provider API key is write-only: responses say whether one is configured, never what it
is.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, StringConstraints

from parley_ai.domain.budget import WhenExhausted
from parley_ai.domain.pricing import Price
from parley_ai.domain.settings import DEFAULT_HANDOFF_THRESHOLD, AiSettings, Provider
from parley_ai.service.settings import SettingsView
from parley_ai.service.usage import BudgetView, ModelDay, UsageDay, UsageReport

ShortText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]
ModelName = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=200, pattern=r"^[^\s]*$")
]
BaseUrl = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)]


class PriceBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    input_per_million: float = Field(ge=0, le=10_000)
    output_per_million: float = Field(ge=0, le=10_000)


class SettingsIn(BaseModel):
    """The whole settings document (fields left out take their defaults), except
    `api_key`: leave it out to keep the stored key, `null` to remove it."""

    model_config = ConfigDict(extra="forbid")

    provider: Literal["extractive", "openai-compatible"] = "extractive"
    preset: ShortText | None = Field(
        default=None, description="fills base_url, model and fallback_model left empty"
    )
    base_url: BaseUrl = ""
    model: ModelName = ""
    fallback_model: ModelName = ""
    api_key: SecretStr | None = Field(default=None, max_length=1000)
    temperature: float = Field(default=0.2, ge=0, le=2)
    max_answer_tokens: int = Field(default=400, ge=16, le=4000)
    request_timeout_s: float = Field(default=20.0, ge=1, le=120)
    business_name: ShortText = ""
    persona: Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)] = ""
    tone: ShortText = ""
    instructions: Annotated[str, StringConstraints(strip_whitespace=True, max_length=4000)] = ""
    handoff_threshold: float = Field(default=DEFAULT_HANDOFF_THRESHOLD, ge=0, le=1)
    monthly_budget_usd: float | None = Field(default=None, ge=0, le=1_000_000)
    when_budget_exhausted: Literal["extractive", "handoff"] = "extractive"
    model_prices: dict[ModelName, PriceBody] = Field(default_factory=dict, max_length=50)

    def settings(self) -> AiSettings:
        return AiSettings(
            provider=Provider(self.provider),
            preset=self.preset or None,
            base_url=self.base_url,
            model=self.model,
            fallback_model=self.fallback_model,
            temperature=self.temperature,
            max_answer_tokens=self.max_answer_tokens,
            request_timeout_s=self.request_timeout_s,
            business_name=self.business_name,
            persona=self.persona,
            tone=self.tone,
            instructions=self.instructions,
            handoff_threshold=self.handoff_threshold,
            monthly_budget_usd=self.monthly_budget_usd,
            when_budget_exhausted=WhenExhausted(self.when_budget_exhausted),
            model_prices={
                m: Price(p.input_per_million, p.output_per_million)
                for m, p in self.model_prices.items()
            },
        )


class SettingsOut(BaseModel):
    provider: str
    preset: str | None
    base_url: str
    model: str
    fallback_model: str
    api_key_configured: bool
    temperature: float
    max_answer_tokens: int
    request_timeout_s: float
    business_name: str
    persona: str
    tone: str
    instructions: str
    handoff_threshold: float
    monthly_budget_usd: float | None
    when_budget_exhausted: str
    model_prices: dict[str, PriceBody]
    updated_at: datetime | None

    @classmethod
    def of(cls, view: SettingsView) -> SettingsOut:
        s = view.settings
        return cls(
            provider=s.provider.value,
            preset=s.preset,
            base_url=s.base_url,
            model=s.model,
            fallback_model=s.fallback_model,
            api_key_configured=view.api_key_configured,
            temperature=s.temperature,
            max_answer_tokens=s.max_answer_tokens,
            request_timeout_s=s.request_timeout_s,
            business_name=s.business_name,
            persona=s.persona,
            tone=s.tone,
            instructions=s.instructions,
            handoff_threshold=s.handoff_threshold,
            monthly_budget_usd=s.monthly_budget_usd,
            when_budget_exhausted=s.when_budget_exhausted.value,
            model_prices={
                m: PriceBody(
                    input_per_million=p.input_per_million, output_per_million=p.output_per_million
                )
                for m, p in s.model_prices.items()
            },
            updated_at=s.updated_at,
        )


class PresetOut(BaseModel):
    name: str
    description: str
    base_url: str
    model: str
    fallback_model: str


class ModelUsageOut(BaseModel):
    model: str
    calls: int
    failed_calls: int
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float
    average_latency_ms: float | None

    @classmethod
    def of(cls, m: ModelDay) -> ModelUsageOut:
        return cls(
            model=m.model,
            calls=m.calls,
            failed_calls=m.failed_calls,
            prompt_tokens=m.prompt_tokens,
            completion_tokens=m.completion_tokens,
            cost_usd=round(m.cost_usd, 8),
            average_latency_ms=m.average_latency_ms,
        )


class UsageDayOut(BaseModel):
    day: date | None
    requests: int
    answers: int
    clarifications: int
    handoffs: int
    handoffs_by_reason: dict[str, int]
    superseded: int
    average_latency_ms: float | None = Field(description="AI step, request consumed to reply")
    max_latency_ms: int
    llm_calls: int
    failed_llm_calls: int
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float
    models: list[ModelUsageOut]

    @classmethod
    def of(cls, d: UsageDay) -> UsageDayOut:
        return cls(
            day=d.day,
            requests=d.requests,
            answers=d.answers,
            clarifications=d.clarifications,
            handoffs=d.handoffs,
            handoffs_by_reason=d.handoffs_by_reason,
            superseded=d.superseded,
            average_latency_ms=d.average_latency_ms,
            max_latency_ms=d.latency_ms_max,
            llm_calls=d.llm_calls,
            failed_llm_calls=d.failed_llm_calls,
            prompt_tokens=d.prompt_tokens,
            completion_tokens=d.completion_tokens,
            cost_usd=d.cost_usd,
            models=[ModelUsageOut.of(m) for m in sorted(d.models.values(), key=lambda m: m.model)],
        )


class BudgetOut(BaseModel):
    monthly_budget_usd: float | None
    spent_this_month_usd: float
    remaining_usd: float | None
    when_exhausted: str

    @classmethod
    def of(cls, b: BudgetView) -> BudgetOut:
        return cls(
            monthly_budget_usd=b.monthly_budget_usd,
            spent_this_month_usd=b.spent_this_month_usd,
            remaining_usd=b.remaining_usd,
            when_exhausted=b.when_exhausted,
        )


class UsageOut(BaseModel):
    first_day: date = Field(alias="from")
    last_day: date = Field(alias="to")
    days: list[UsageDayOut]
    totals: UsageDayOut
    budget: BudgetOut

    model_config = ConfigDict(populate_by_name=True)

    @classmethod
    def of(cls, report: UsageReport) -> UsageOut:
        return cls(
            first_day=report.first_day,
            last_day=report.last_day,
            days=[UsageDayOut.of(d) for d in report.days],
            totals=UsageDayOut.of(report.totals),
            budget=BudgetOut.of(report.budget),
        )
