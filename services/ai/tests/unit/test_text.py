"""How the matching code reads words: case, accents, apostrophes and spacing do not matter."""

from __future__ import annotations

import pytest
from parley_ai.domain.text import content_terms, normalise


@pytest.mark.parametrize(
    ("text", "normalised"),
    [
        ("When are  you OPEN on\tSaturday?", "when are you open on saturday?"),
        ("Don`t you ship   abroad?", "don't you ship abroad?"),
        ("Don\u2019t you ship abroad?", "don't you ship abroad?"),
        ("Devolução  em CAFÉ aberto", "devolucao em cafe aberto"),
        ("STRASSE", "strasse"),
        ("Straße", "strasse"),
    ],
)
def test_case_accents_apostrophes_and_spaces_are_ignored(text: str, normalised: str) -> None:
    assert normalise(text) == normalised


def test_a_question_with_and_without_accents_has_the_same_terms() -> None:
    assert content_terms("Quanto custa a devolução?", "pt") == content_terms(
        "quanto custa a devolucao", "pt"
    )
