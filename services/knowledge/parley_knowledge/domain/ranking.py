"""Fusing rankings into one: reciprocal rank fusion (Cormack, Clarke and Büttcher, 2009).

Each ranking (full text, vectors) lists chunk ids best first; a chunk's fused score is the
sum over rankings of 1 / (k + rank). It needs no calibration between the rankings' own
scores, which are not comparable (a text rank and a cosine similarity). Scores here are
divided by the best possible one (first in every ranking), so they fall in (0, 1].
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Sequence
from typing import TypeVar

K = TypeVar("K", bound=Hashable)

_WORD = re.compile(r"\w+", re.UNICODE)


def reciprocal_rank_fusion(rankings: Sequence[Sequence[K]], k: int = 60) -> list[tuple[K, float]]:
    """Every id of `rankings` with its fused score, best first (ties keep first-seen order)."""
    if not rankings:
        return []
    scores: dict[K, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + 1.0 / (k + rank)
    best = len(rankings) / (k + 1)
    fused = [(item, score / best) for item, score in scores.items()]
    fused.sort(key=lambda pair: pair[1], reverse=True)
    return fused


def query_words(query: str) -> list[str]:
    """The query's words, lower-cased, in order, without repeats."""
    seen: dict[str, None] = {}
    for word in _WORD.findall(query.lower()):
        seen.setdefault(word, None)
    return list(seen)


def vocabulary(text: str, min_length: int = 3, max_length: int = 40) -> set[str]:
    """The words of `text` worth correcting a misspelled query word to: lower-cased, at
    least `min_length` characters, not only digits."""
    return {
        word
        for word in _WORD.findall(text.lower())
        if min_length <= len(word) <= max_length and not word.isdigit()
    }
