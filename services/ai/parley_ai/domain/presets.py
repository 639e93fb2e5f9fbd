"""Named provider configurations a tenant can pick instead of typing base URL and models.

`openrouter-claude-haiku` is the original product's configuration: OpenRouter with Claude 3
Haiku, falling back to GPT-3.5 Turbo, each model behind its own circuit breaker.
"""

from __future__ import annotations

from dataclasses import dataclass

from parley_ai.domain.pricing import Price


@dataclass(frozen=True)
class Preset:
    base_url: str
    model: str
    fallback_model: str
    description: str


PRESETS: dict[str, Preset] = {
    "openrouter-claude-haiku": Preset(
        base_url="https://openrouter.ai/api/v1",
        model="anthropic/claude-3-haiku",
        fallback_model="openai/gpt-3.5-turbo",
        description="OpenRouter: Claude 3 Haiku, falling back to GPT-3.5 Turbo (the original "
        "product's configuration)",
    ),
    "openai": Preset(
        base_url="https://api.openai.com/v1",
        model="gpt-4o-mini",
        fallback_model="gpt-3.5-turbo",
        description="OpenAI: GPT-4o mini, falling back to GPT-3.5 Turbo",
    ),
    "ollama": Preset(
        base_url="http://127.0.0.1:11434/v1",
        model="llama3.1",
        fallback_model="",
        description="A local Ollama server (OpenAI-compatible endpoint)",
    ),
    "local-stub": Preset(
        base_url="http://127.0.0.1:8095/v1",
        model="stub-large",
        fallback_model="stub-small",
        description="The LLM stand-in that `make run` starts (offline, deterministic)",
    ),
}

# Prices the operator starts with (US dollars per million tokens, as published by the
# providers); PARLEY_AI_MODEL_PRICES replaces them, and tenants may add their own models.
DEFAULT_PRICES: dict[str, Price] = {
    "anthropic/claude-3-haiku": Price(0.25, 1.25),
    "claude-3-haiku": Price(0.25, 1.25),
    "openai/gpt-3.5-turbo": Price(0.50, 1.50),
    "gpt-3.5-turbo": Price(0.50, 1.50),
    "gpt-4o-mini": Price(0.15, 0.60),
    "stub-large": Price(1.00, 2.00),
    "stub-small": Price(0.50, 1.00),
}
