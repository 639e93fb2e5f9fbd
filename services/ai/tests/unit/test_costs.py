"""Prices and the monthly budget."""

from __future__ import annotations

from datetime import date

from parley_ai.domain import budget
from parley_ai.domain.presets import DEFAULT_PRICES, PRESETS
from parley_ai.domain.pricing import FREE, Price, price_of


def test_cost_is_tokens_times_the_models_price_per_million() -> None:
    assert Price(0.25, 1.25).cost(1_000_000, 400_000) == 0.25 + 0.5


def test_the_tenants_price_wins_and_a_provider_prefix_is_optional() -> None:
    own = {"claude-3-haiku": Price(1, 1)}
    assert price_of("anthropic/claude-3-haiku", {}, DEFAULT_PRICES) == Price(0.25, 1.25)
    assert price_of("anthropic/claude-3-haiku", own, DEFAULT_PRICES) == Price(1, 1)
    assert price_of("gpt-3.5-turbo", own, DEFAULT_PRICES) == Price(0.5, 1.5)
    assert price_of("my-local-llama", own, DEFAULT_PRICES) == FREE


def test_a_call_that_could_pass_the_budget_is_refused() -> None:
    assert budget.check(spent_usd=0.90, budget_usd=1.0, next_call_usd=0.05).allowed
    assert not budget.check(spent_usd=0.98, budget_usd=1.0, next_call_usd=0.05).allowed
    assert budget.check(spent_usd=1e9, budget_usd=None, next_call_usd=1).allowed
    assert budget.month_start(date(2026, 11, 27)) == date(2026, 11, 1)


def test_the_original_products_preset_is_openrouter_haiku_falling_back_to_gpt35() -> None:
    preset = PRESETS["openrouter-claude-haiku"]
    assert preset.base_url == "https://openrouter.ai/api/v1"
    assert (preset.model, preset.fallback_model) == (
        "anthropic/claude-3-haiku",
        "openai/gpt-3.5-turbo",
    )
