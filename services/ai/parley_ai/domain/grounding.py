"""Checking what a model wrote before a customer sees it.

- `NO_ANSWER`, or a reply that says it does not know: hand off.
- `CLARIFY: <question>`: one short question back.
- A reply that repeats the prompt (its guard phrase, or a run of words of the rules): hand off
  as a policy matter, never sent.
- Otherwise it must cite passages by number (`[1]`); only numbers of passages that were in
  the prompt count, so every citation is a chunk retrieved for this tenant. No valid
  citation: hand off.
- Links that are not in the cited or quoted passages are removed; the markers are taken out;
  the text is turned into WhatsApp formatting and gets a line naming its sources.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from parley_ai.domain.decision import (
    Answer,
    Clarification,
    Decision,
    Handoff,
    HandoffReason,
    Passage,
)
from parley_ai.domain.language import phrases
from parley_ai.domain.prompt import CLARIFY, NO_ANSWER
from parley_ai.domain.relevance import PassageTerms, coverage
from parley_ai.domain.text import content_terms, normalise, words
from parley_ai.domain.whatsapp import (
    fit,
    remove_foreign_links,
    to_whatsapp,
    urls_in,
    with_sources,
)

MAX_CLARIFYING_CHARS = 300
# This many consecutive words of the rules in an answer mean the prompt leaked.
LEAK_RUN_WORDS = 8
_MARKERS = re.compile(r"\[(\s*\d{1,3}\s*(?:[,;]\s*\d{1,3}\s*)*)\]")
_CLARIFY = re.compile(rf"^\s*{re.escape(CLARIFY)}\s*", re.IGNORECASE)

# A model saying it cannot answer, in the languages we write (normalised, whole phrases).
DONT_KNOW = (
    "i don't know",
    "i do not know",
    "i don't have information",
    "i do not have information",
    "i don't have that information",
    "i'm not sure",
    "i am not sure",
    "i cannot find",
    "i can't find",
    "not in the passages",
    "no information about",
    "nao sei",
    "nao tenho informac",
    "nao encontrei",
    "no lo se",
    "no tengo informac",
    "no encontre",
    "je ne sais pas",
    "je n'ai pas d'information",
    "ich weiss nicht",
    "keine informationen",
    "non lo so",
    "non ho informazioni",
)


def _shingles(text: str, size: int) -> set[tuple[str, ...]]:
    tokens = words(text)
    return {tuple(tokens[i : i + size]) for i in range(len(tokens) - size + 1)}


def leaks_prompt(reply: str, guard: str, rules: str) -> bool:
    """Whether `reply` repeats the guard phrase or a long run of the rules' words."""
    if guard and guard.lower() in reply.lower():
        return True
    return bool(_shingles(reply, LEAK_RUN_WORDS) & _shingles(rules, LEAK_RUN_WORDS))


def says_it_does_not_know(reply: str) -> bool:
    cleaned = normalise(reply).replace("\u2019", "'")
    return NO_ANSWER.lower() in cleaned or any(p in cleaned for p in DONT_KNOW)


def cited_numbers(reply: str) -> list[int]:
    """The passage numbers cited in `reply`, in order of first citation."""
    numbers: dict[int, None] = {}
    for match in _MARKERS.finditer(reply):
        for part in re.split(r"[,;]", match.group(1)):
            numbers.setdefault(int(part), None)
    return list(numbers)


def _without_markers(reply: str) -> str:
    text = _MARKERS.sub("", reply)
    text = re.sub(r"[ \t]+([.,;:!?])", r"\1", text)
    return re.sub(r"[ \t]{2,}", " ", text).strip()


def interpret(
    reply: str,
    *,
    question: str,
    passages: Sequence[Passage],
    language: str,
    guard: str,
    rules: str,
) -> Decision:
    """The decision a model's `reply` amounts to, given the `passages` numbered in its
    prompt (1-based)."""
    reply = reply.strip()
    if not reply:
        return Handoff(HandoffReason.NO_GROUNDED_ANSWER, "the model returned nothing")
    if leaks_prompt(reply, guard, rules):
        return Handoff(HandoffReason.POLICY, "the model's reply repeated its instructions")
    if _CLARIFY.match(reply):
        question_back = _without_markers(_CLARIFY.sub("", reply, count=1))
        question_back, _ = remove_foreign_links(to_whatsapp(question_back), set())
        if question_back:
            return Clarification(fit(question_back, MAX_CLARIFYING_CHARS), language)
        return Handoff(HandoffReason.NO_GROUNDED_ANSWER, "the model asked back nothing")
    if says_it_does_not_know(reply):
        return Handoff(HandoffReason.NO_GROUNDED_ANSWER, "the model found no answer")
    cited = [passages[n - 1] for n in cited_numbers(reply) if 1 <= n <= len(passages)]
    cited = list(dict.fromkeys(cited))
    if not cited:
        return Handoff(HandoffReason.NO_GROUNDED_ANSWER, "the model's answer cites no passage")
    allowed = urls_in(t for p in passages for t in (p.text, p.source_uri))
    body, removed = remove_foreign_links(to_whatsapp(_without_markers(reply)), allowed)
    if not body:
        return Handoff(HandoffReason.NO_GROUNDED_ANSWER, "nothing left once links were removed")
    terms = content_terms(question, language)
    confidence = max(
        coverage(terms, PassageTerms.of(f"{p.title} {p.text}", language)) for p in cited
    )
    return Answer(
        text=with_sources(body, phrases(language).source, [p.label for p in cited]),
        citations=tuple(cited),
        confidence=round(confidence, 3),
        language=language,
        removed_links=tuple(removed),
    )
