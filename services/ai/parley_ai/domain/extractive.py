"""The extractive answerer: no model, the business's own words.

Of the passages retrieval found, the one that covers most of the question's topic words is
the answer: the passage whole when it is short, otherwise the sentences around the one that
matches best, trimmed for WhatsApp and followed by its source. Below the tenant's confidence
threshold it hands off. A message with no topic at all ("hi", "?") gets one short question
back; so does a one-word question that two documents answer equally well ("prices?").
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from parley_ai.domain.decision import (
    Answer,
    Clarification,
    Decision,
    Handoff,
    HandoffReason,
    Passage,
)
from parley_ai.domain.language import phrases
from parley_ai.domain.relevance import PassageTerms, coverage
from parley_ai.domain.text import content_terms
from parley_ai.domain.whatsapp import fit, remove_foreign_links, to_whatsapp, urls_in, with_sources

DEFAULT_EXCERPT_CHARS = 700
# Two passages this close in coverage answer a one-word question equally well.
_TIE = 0.01
_SENTENCES = re.compile(r"(?<=[.!?…])\s+(?=\S)|\n+")

GREETING_QUESTION = {
    "en": "Hi! What would you like to know?",
    "pt": "Olá! Em que posso ajudar?",
    "es": "¡Hola! ¿En qué puedo ayudarte?",
    "fr": "Bonjour ! Que souhaitez-vous savoir ?",
    "de": "Hallo! Was möchten Sie wissen?",
    "it": "Ciao! Cosa vorresti sapere?",
}


@dataclass(frozen=True)
class Scored:
    passage: Passage
    coverage: float
    terms: PassageTerms
    framed_coverage: float


def score_passages(question: str, passages: Sequence[Passage], language: str) -> list[Scored]:
    """Passages with their coverage of the question, best first (retrieval order breaks
    ties)."""
    terms = content_terms(question, language)
    # Words that frame the question ("how long", "¿cuánto tardan?") do not count towards
    # confidence, but between passages that cover the topic equally they tell which answers.
    framed = content_terms(question, language, keep_frames=True)
    scored = []
    for passage in passages:
        passage_terms = PassageTerms.of(
            f"{passage.title} {passage.heading} {passage.text}", language
        )
        scored.append(
            Scored(
                passage,
                coverage(terms, passage_terms),
                passage_terms,
                coverage(framed, passage_terms),
            )
        )
    # Stable: retrieval order decides what is still tied.
    return sorted(scored, key=lambda s: (-s.coverage, -s.framed_coverage))


def excerpt(passage: Passage, question: str, language: str, max_chars: int) -> str:
    """The part of `passage` that answers `question`, at most `max_chars` long."""
    text = passage.text.strip()
    if len(text) <= max_chars:
        return text
    sentences = [s.strip() for s in _SENTENCES.split(text) if s.strip()]
    terms = content_terms(question, language)
    hits = [coverage(terms, PassageTerms.of(s, language)) for s in sentences]
    best = max(range(len(sentences)), key=lambda i: (hits[i], -i))
    start = end = best
    length = len(sentences[best])
    # Grow around the best sentence, preferring what follows it (answers tend to continue).
    while True:
        grew = False
        for candidate in (end + 1, start - 1):
            if 0 <= candidate < len(sentences) and (
                length + 1 + len(sentences[candidate]) <= max_chars
            ):
                length += 1 + len(sentences[candidate])
                start, end = min(start, candidate), max(end, candidate)
                grew = True
                break
        if not grew:
            break
    chosen = " ".join(sentences[start : end + 1])
    prefix = "… " if start > 0 else ""
    suffix = " …" if end < len(sentences) - 1 else ""
    return fit(prefix + chosen + suffix, max_chars)


def answer(
    question: str,
    passages: Sequence[Passage],
    *,
    language: str,
    threshold: float,
    max_chars: int = DEFAULT_EXCERPT_CHARS,
) -> Decision:
    """Answer `question` from `passages` (the tenant's retrieved chunks), ask back, or hand
    off."""
    terms = content_terms(question, language)
    if not terms:
        return Clarification(GREETING_QUESTION.get(language, GREETING_QUESTION["en"]), language)
    if not passages:
        return Handoff(HandoffReason.NO_GROUNDED_ANSWER, "nothing in the knowledge base matches")
    scored = score_passages(question, passages, language)
    best = scored[0]
    if best.coverage < threshold:
        return Handoff(
            HandoffReason.NO_GROUNDED_ANSWER,
            f"best passage covers {best.coverage:.0%} of the question (threshold {threshold:.0%})",
        )
    if len(terms) == 1:
        rivals = [
            s
            for s in scored[1:]
            if s.coverage >= best.coverage - _TIE
            and s.passage.document_id != best.passage.document_id
            and s.passage.title.strip().lower() != best.passage.title.strip().lower()
        ]
        if rivals:
            titles = list(dict.fromkeys(s.passage.title for s in [best, *rivals[:2]]))
            said = phrases(language)
            options = f" {said.or_word} ".join(f"*{t}*" for t in titles)
            return Clarification(said.which_one.format(options=options), language, best.coverage)
    body = excerpt(best.passage, question, language, max_chars)
    allowed = urls_in([best.passage.text, best.passage.source_uri])
    body, removed = remove_foreign_links(to_whatsapp(body), allowed)
    text = with_sources(body, phrases(language).source, [best.passage.label])
    return Answer(
        text=text,
        citations=(best.passage,),
        confidence=round(best.coverage, 3),
        language=language,
        removed_links=tuple(removed),
    )
