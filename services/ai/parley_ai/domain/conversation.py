"""Reading the conversation around a customer message: what to search for, and what the
customer said before (for the language and the prompt)."""

from __future__ import annotations

from collections.abc import Sequence

from parley_ai.domain.prompt import Speaker, Turn
from parley_ai.domain.text import content_terms

# Meta message types whose text the AI can read (for others, `customer_text` is at most a
# caption or a description).
READABLE_TYPES = frozenset({"text", "interactive", "button", ""})


def search_query(text: str, history: Sequence[Turn], language: str) -> str:
    """What to search the knowledge base for. A short reply to the AI's own question
    ("Saturday", "the blue one") is searched together with the customer's message before
    it, which holds the topic."""
    if len(content_terms(text, language)) > 2 or len(history) < 2:
        return text
    last = history[-1]
    if last.speaker != Speaker.ASSISTANT or not last.text.rstrip().endswith("?"):
        return text
    earlier = next((t.text for t in reversed(history[:-1]) if t.speaker == Speaker.CUSTOMER), "")
    return f"{earlier} {text}".strip()


def customer_texts(history: Sequence[Turn]) -> list[str]:
    """What the customer wrote before, oldest first."""
    return [t.text for t in history if t.speaker == Speaker.CUSTOMER and t.text.strip()]
