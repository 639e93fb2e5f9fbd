"""Recognising a customer who asks for a person, in several languages.

Text is compared after normalising case, accents, apostrophes and spacing, as whole words
(so "humano" matches "HUMANO!" and "Humáno", but "agent" does not match "agentic" or
"management"). A handful of common expressions that contain such a word without asking
for anyone ("in person", "pessoa física") are removed first. The lists err on the side of
handing off: a person reading a conversation that did not need one costs little, a
customer whose request for a person is ignored is lost.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

# Words and phrases (already normalised: lower case, no accents) that ask for a person.
REQUEST_PHRASES: dict[str, tuple[str, ...]] = {
    "en": (
        "human",
        "humans",
        "agent",
        "agents",
        "person",
        "real person",
        "representative",
        "operator",
        "someone real",
        "talk to someone",
        "speak to someone",
        "talk with someone",
        "speak with someone",
        "customer service",
    ),
    "es": (
        "humano",
        "humanos",
        "humana",
        "agente",
        "agentes",
        "persona",
        "personas",
        "asesor",
        "asesora",
        "operador",
        "operadora",
        "representante",
        "hablar con alguien",
    ),
    "pt": (
        "humano",
        "humanos",
        "humana",
        "atendente",
        "atendentes",
        "pessoa",
        "pessoas",
        "agente",
        "agentes",
        "operador",
        "operadora",
        "falar com alguem",
        "atendimento humano",
    ),
    "fr": (
        "humain",
        "humains",
        "humaine",
        "agent",
        "agents",
        "conseiller",
        "conseillere",
        "operateur",
        "operatrice",
        "une personne",
        "vraie personne",
        "quelqu'un",
    ),
    "de": (
        "mensch",
        "menschen",
        "mitarbeiter",
        "mitarbeiterin",
        "mitarbeitern",
        "berater",
        "beraterin",
        "agent",
        "echte person",
        "mit jemandem",
    ),
    "it": (
        "operatore",
        "operatrice",
        "operatori",
        "umano",
        "umana",
        "persona",
        "persona reale",
        "agente",
        "parlare con qualcuno",
    ),
}

# Expressions that contain a request word but do not ask for anyone.
NOT_A_REQUEST: tuple[str, ...] = (
    "in person",
    "per person",
    "travel agent",
    "estate agent",
    "user agent",
    "en persona",
    "por persona",
    "persona fisica",
    "persona juridica",
    "em pessoa",
    "por pessoa",
    "pessoa fisica",
    "pessoa juridica",
    "en personne",
    "par personne",
    "pro person",
    "in persona",
    "per persona",
)

_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'"})


def normalise(text: str) -> str:
    """Lower case, accents removed, apostrophes unified, runs of spaces collapsed."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_APOSTROPHES))
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(stripped.casefold().split())


def _whole_words(phrases: Iterable[str]) -> re.Pattern[str]:
    # Longest first, so that the phrase reported is the most specific one.
    alternatives = sorted({re.escape(p) for p in phrases}, key=len, reverse=True)
    return re.compile(rf"(?<!\w)(?:{'|'.join(alternatives)})(?!\w)")


_REQUEST = _whole_words(p for phrases in REQUEST_PHRASES.values() for p in phrases)
_NOT_A_REQUEST = _whole_words(NOT_A_REQUEST)


def requested_person(text: str | None) -> str | None:
    """The phrase with which `text` asks for a person, or None when it does not."""
    if not text:
        return None
    cleaned = _NOT_A_REQUEST.sub(" ", normalise(text))
    match = _REQUEST.search(cleaned)
    return match.group(0) if match else None
