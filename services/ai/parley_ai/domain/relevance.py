"""How much of a question a passage speaks about: the share of the question's topic words
(stems) that the passage contains. It is the extractive answerer's confidence, and is
independent of the retrieval scores (fused ranks, which are not comparable across queries).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from functools import lru_cache

from parley_ai.domain.text import term_set

# Stems this long or longer also match a passage stem with the same first letters
# ("entrega"/"entregamos" stem differently in some languages, "refund"/"refunds" never do).
_PREFIX = 5


@dataclass(frozen=True)
class PassageTerms:
    """A passage's stems, ready for matching."""

    stems: frozenset[str]
    prefixes: frozenset[str]

    @classmethod
    def of(cls, text: str, language: str) -> PassageTerms:
        """The terms of `text` (cached: the same passages come back for many questions)."""
        return _passage_terms(text, language)

    def contains(self, term: str) -> bool:
        return term in self.stems or (len(term) >= _PREFIX and term[:_PREFIX] in self.prefixes)


@lru_cache(maxsize=4096)
def _passage_terms(text: str, language: str) -> PassageTerms:
    stems = term_set(text, language)
    return PassageTerms(stems, frozenset(s[:_PREFIX] for s in stems if len(s) >= _PREFIX))


def coverage(question_terms: Collection[str], passage: PassageTerms) -> float:
    """The share (0..1) of `question_terms` found in the passage; 0 for no terms."""
    if not question_terms:
        return 0.0
    return sum(1 for t in question_terms if passage.contains(t)) / len(question_terms)
