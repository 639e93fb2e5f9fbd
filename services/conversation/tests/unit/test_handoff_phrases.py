"""Recognising a customer who asks for a person, in the languages our customers write in.
(Pure text rules: the end-to-end handoff is in test_ownership.py.)"""

from __future__ import annotations

import pytest
from parley_conversation.domain.handoff import requested_person

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
