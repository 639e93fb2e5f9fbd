"""A document's language and the PostgreSQL text-search configuration that stems it.

Detection uses py3langid (its model ships inside the package: nothing is downloaded). Short
or mixed text is detected unreliably, so below a minimum length, or when the model is
unsure, the tenant's default language is used instead.
"""

from __future__ import annotations

from functools import cache

# ISO 639-1 code → the PostgreSQL text-search configuration of that language (the ones a
# stock PostgreSQL ships). Languages without one are indexed with `simple` (no stemming).
TEXT_SEARCH_CONFIGS: dict[str, str] = {
    "ar": "arabic",
    "hy": "armenian",
    "eu": "basque",
    "ca": "catalan",
    "da": "danish",
    "nl": "dutch",
    "en": "english",
    "et": "estonian",
    "fi": "finnish",
    "fr": "french",
    "de": "german",
    "el": "greek",
    "hi": "hindi",
    "hu": "hungarian",
    "id": "indonesian",
    "ga": "irish",
    "it": "italian",
    "lt": "lithuanian",
    "ne": "nepali",
    "no": "norwegian",
    "nb": "norwegian",
    "nn": "norwegian",
    "pt": "portuguese",
    "ro": "romanian",
    "ru": "russian",
    "sr": "serbian",
    "es": "spanish",
    "sv": "swedish",
    "ta": "tamil",
    "tr": "turkish",
    "yi": "yiddish",
}
SIMPLE_CONFIG = "simple"
MIN_DETECTION_CHARS = 40
MIN_CONFIDENCE = 0.8
DETECTION_SAMPLE_CHARS = 5_000


def text_search_config(language: str) -> str:
    """The PostgreSQL configuration for an ISO 639-1 code (`simple` when there is none)."""
    return TEXT_SEARCH_CONFIGS.get(language.lower(), SIMPLE_CONFIG)


def is_language_code(value: str) -> bool:
    """Whether `value` looks like an ISO 639-1 code (two lowercase letters)."""
    return len(value) == 2 and value.isascii() and value.isalpha() and value.islower()


@cache
def _identifier():  # type: ignore[no-untyped-def]  # py3langid ships no type hints
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def detect_language(text: str, default: str) -> str:
    """The ISO 639-1 code of `text`'s language, or `default` when the text is too short or
    the detection unsure."""
    sample = " ".join(text[:DETECTION_SAMPLE_CHARS].split())
    if len(sample) < MIN_DETECTION_CHARS:
        return default
    language, confidence = _identifier().classify(sample)
    if float(confidence) < MIN_CONFIDENCE:
        return default
    return str(language)
