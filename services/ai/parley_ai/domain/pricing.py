"""What an LLM call costs: tokens times the model's price (US dollars per million tokens),
from a table the operator configures and each tenant may extend for its own models."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Price:
    """US dollars per million prompt (input) and completion (output) tokens."""

    input_per_million: float = 0.0
    output_per_million: float = 0.0

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        return (
            prompt_tokens * self.input_per_million + completion_tokens * self.output_per_million
        ) / 1_000_000


FREE = Price()


def price_of(model: str, *tables: Mapping[str, Price]) -> Price:
    """The price of `model` from the first table that names it (tenant's, then the
    operator's); an unknown model costs nothing (its tokens are still counted). A model name
    with a provider prefix (`anthropic/claude-3-haiku`) also matches the bare name."""
    bare = model.rsplit("/", 1)[-1]
    for table in tables:
        for name in (model, bare):
            if name in table:
                return table[name]
    return FREE
