"""Recognising a customer who asks for a person, in the languages our customers write in.
(Pure text rules: the end-to-end handoff is in tests/test_ownership.py.)"""

from __future__ import annotations

import pytest
from parley_conversation.domain.handoff import (
    NOT_A_REQUEST,
    REQUEST_PHRASES,
    normalise,
    requested_person,
)

ASKING = [
    ("Can I talk to a human?", "human"),
    ("I want to speak to someone please", "speak to someone"),
    ("AGENT", "agent"),
    ("Is there a real person there??", "real person"),
    ("quiero hablar con una persona", "persona"),
    ("Necesito un asesor humano", "asesor"),
    ("Quero falar com um atendente", "atendente"),
    ("posso falar com alguém?", "falar com alguem"),
    ("uma pessoa por favor", "pessoa"),
    ("Je voudrais parler à un humain", "humain"),
    ("je veux parler à quelqu\u2019un", "quelqu'un"),  # typographic apostrophe
    ("Un conseiller s'il vous plaît", "conseiller"),
    ("Ich möchte mit einem Menschen sprechen", "menschen"),
    ("Bitte einen Mitarbeiter!", "mitarbeiter"),
    ("Vorrei parlare con un operatore", "operatore"),
    ("c'è un umano?", "umano"),
    ("Humáno", "humano"),
]

NOT_ASKING = [
    "Where is my order?",
    "The management changed the agenda",  # "agent" only inside other words
    "humanitarian aid",
    "Can I pay in person?",
    "É para pessoa física ou jurídica?",
    "¿Cuánto cuesta por persona?",
    "Ich komme pro Person mit zwei Koffern",
    "my travel agent booked it",
    "",
    None,
]


@pytest.mark.parametrize(("text", "phrase"), ASKING)
def test_a_request_for_a_person_is_recognised(text: str, phrase: str) -> None:
    assert requested_person(text) == phrase


@pytest.mark.parametrize("text", NOT_ASKING)
def test_ordinary_messages_are_not_mistaken_for_one(text: str | None) -> None:
    assert requested_person(text) is None


EVERY_PHRASE = [(lang, phrase) for lang, phrases in REQUEST_PHRASES.items() for phrase in phrases]


def test_every_language_the_service_knows_is_covered() -> None:
    assert set(REQUEST_PHRASES) == {"en", "es", "pt", "fr", "de", "it"}


@pytest.mark.parametrize(("lang", "phrase"), EVERY_PHRASE)
def test_every_known_phrase_asks_for_a_person_alone_shouted_or_inside_a_sentence(
    lang: str, phrase: str
) -> None:
    assert requested_person(phrase) is not None, lang
    assert requested_person(f"{phrase.upper()}!!") is not None, lang
    found = requested_person(f"ok... {phrase}, please")
    # The phrase found is this one or a longer one containing it ("agent" in "real agent").
    assert found is not None and phrase in found, lang


@pytest.mark.parametrize(("lang", "phrase"), EVERY_PHRASE)
def test_a_known_phrase_inside_a_longer_word_is_no_request(lang: str, phrase: str) -> None:
    assert requested_person(f"x{phrase.replace(' ', '')}x") is None, lang


@pytest.mark.parametrize("expression", NOT_A_REQUEST)
def test_expressions_that_only_contain_a_request_word_are_no_request(expression: str) -> None:
    assert requested_person(expression) is None
    assert requested_person(f"Is the price {expression.upper()}?") is None


def test_normalising_removes_case_accents_odd_apostrophes_and_extra_spaces() -> None:
    assert normalise("  Quelqu\u2019UN   Éè\tÇà ") == "quelqu'un ee ca"
