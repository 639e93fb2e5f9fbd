"""The stand-in's embeddings: deterministic, and closer for texts that share words."""

from __future__ import annotations

import math

from parley_llm_stub.embeddings import embed


def cosine(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


def test_the_same_text_gives_the_same_unit_vector() -> None:
    first, again = embed("Opening hours on Saturday", 64), embed("Opening hours on Saturday", 64)
    assert first == again
    assert math.isclose(sum(v * v for v in first), 1.0)


def test_texts_sharing_words_are_closer_than_unrelated_ones() -> None:
    question = embed("when are you open on saturday", 256)
    answer = embed("We are open Saturday from 9 to 17", 256)
    unrelated = embed("Refunds are paid to the original card", 256)
    assert cosine(question, answer) > cosine(question, unrelated)


def test_text_without_words_is_the_zero_vector() -> None:
    assert embed("?!", 16) == [0.0] * 16
