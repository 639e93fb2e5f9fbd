"""The customer's language, and the few sentences the AI writes itself in each language.

Detection uses py3langid (its model ships inside the package: nothing is downloaded) limited
to the languages Parley writes in. A short message ("ok", "sábado?") is too short to tell
reliably, so the customer's earlier messages count too, and a hint from the request (the
conversation's known language) wins over a guess on very little text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

from parley_ai.domain.text import words

SUPPORTED = ("en", "pt", "es", "fr", "de", "it")
DEFAULT = "en"
NAMES = {
    "en": "English",
    "pt": "Portuguese",
    "es": "Spanish",
    "fr": "French",
    "de": "German",
    "it": "Italian",
}
# Below this many words, detection alone is not trusted over a hint or earlier messages.
_RELIABLE_WORDS = 4


@cache
def _identifier() -> object:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    identifier.set_languages(list(SUPPORTED))
    return identifier


def _classify(text: str) -> tuple[str, float]:
    language, probability = _identifier().classify(text)  # type: ignore[attr-defined]
    return str(language), float(probability)


def detect(text: str, *, earlier: Sequence[str] = (), hint: str = "") -> str:
    """The language to answer `text` in (an ISO 639-1 code from SUPPORTED)."""
    hint = hint.split("-")[0].lower()
    if len(words(text)) >= _RELIABLE_WORDS:
        language, probability = _classify(text)
        if probability >= 0.8 or hint not in SUPPORTED:
            return language
    if hint in SUPPORTED:
        return hint
    sample = " ".join([*earlier[-5:], text])
    if not words(sample):
        return DEFAULT
    language, probability = _classify(sample)
    return language if probability >= 0.5 else DEFAULT


@dataclass(frozen=True)
class Phrases:
    """What the AI says in its own words, in one language."""

    source: str  # label before an answer's sources
    sources: str
    which_one: str  # a clarifying question: "{options}" is replaced by the choices
    or_word: str


PHRASES: dict[str, Phrases] = {
    "en": Phrases("Source", "Sources", "Do you mean {options}?", "or"),
    "pt": Phrases("Fonte", "Fontes", "Você quer saber sobre {options}?", "ou"),
    "es": Phrases("Fuente", "Fuentes", "¿Te refieres a {options}?", "o"),
    "fr": Phrases("Source", "Sources", "Parlez-vous de {options} ?", "ou"),
    "de": Phrases("Quelle", "Quellen", "Meinen Sie {options}?", "oder"),
    "it": Phrases("Fonte", "Fonti", "Intendi {options}?", "o"),
}


def phrases(language: str) -> Phrases:
    """The AI's own sentences in `language` (English when it has none for it)."""
    return PHRASES.get(language, PHRASES[DEFAULT])
