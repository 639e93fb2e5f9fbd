"""What the AI decides for one customer message: answer (with the passages it rests on), ask
one short clarifying question, or hand the conversation to a person (with the reason)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


@dataclass(frozen=True)
class Passage:
    """A chunk of the tenant's knowledge base, as retrieval returned it."""

    chunk_id: str
    document_id: str
    title: str
    text: str
    score: float = 0.0
    heading: str = ""
    source_uri: str = ""

    @property
    def label(self) -> str:
        """How the customer sees the source named: the document, and its section if any."""
        if self.heading and self.heading.strip().lower() != self.title.strip().lower():
            return f"{self.title} - {self.heading}"
        return self.title


class HandoffReason(StrEnum):
    NO_GROUNDED_ANSWER = "no_grounded_answer"
    CUSTOMER_ASKED_FOR_HUMAN = "customer_asked_for_human"
    MODEL_FAILED = "model_failed"
    BUDGET_EXHAUSTED = "budget_exhausted"
    POLICY = "policy"


@dataclass(frozen=True)
class Answer:
    """A grounded answer: WhatsApp-ready text and the passages it cites."""

    text: str
    citations: tuple[Passage, ...]
    confidence: float
    language: str
    removed_links: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class Clarification:
    """One short question back to the customer."""

    text: str
    language: str
    confidence: float = 0.0


@dataclass(frozen=True)
class Handoff:
    """The conversation goes to a person."""

    reason: HandoffReason
    detail: str


Decision = Answer | Clarification | Handoff
