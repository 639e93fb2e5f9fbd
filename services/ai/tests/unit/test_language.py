"""The customer's language."""

from __future__ import annotations

from parley_ai.domain.language import detect


def test_a_full_sentence_is_recognised() -> None:
    assert detect("Quando vocês abrem no sábado de manhã?") == "pt"
    assert detect("¿Cuánto cuesta el envío a Madrid?") == "es"
    assert detect("When are you open on Saturday?") == "en"


def test_a_short_message_follows_the_hint_or_the_earlier_messages() -> None:
    assert detect("ok", hint="es") == "es"
    assert detect("sim", earlier=["Vocês entregam em Lisboa amanhã de manhã?"]) == "pt"


def test_nothing_to_go_on_means_english() -> None:
    assert detect("👍") == "en"
