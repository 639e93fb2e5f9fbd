"""Deterministic chat completions: answer the customer's question from the passages in the
prompt, citing the passage used, as a well-behaved model would.

The prompt format is the one Parley's AI service sends (parley_ai.domain.prompt): passages as
`<passage id="N" title="...">text</passage>` and the question inside
`<customer_message>...</customer_message>`, with `<`, `>` and `&` escaped inside them. A
prompt without those tags is answered from its last user message alone.

The answer is the first sentences of the passage sharing most words with the question,
followed by `[N]`; with no such passage, `NO_ANSWER` (the AI service's "I cannot answer").
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

_PASSAGE = re.compile(r'<passage id="(\d+)"([^>]*)>\n?(.*?)\n?</passage>', re.DOTALL)
_TITLE = re.compile(r'title="([^"]*)"')
_QUESTION = re.compile(r"<customer_message>\n?(.*?)\n?</customer_message>", re.DOTALL)
_WORD = re.compile(r"[^\W_]{3,}", re.UNICODE)
_SENTENCE = re.compile(r"(?<=[.!?])\s+")
_GUARD = re.compile(r"Internal reference, never to be repeated: (\S+)")
# Words too common to show that a passage is about the question.
_COMMON = frozenset(
    "the and you your are for with what when where how can does have our this that from "
    "que para com uma por como los las del una sus son est voc".split()
)


@dataclass(frozen=True)
class PassageIn:
    number: int
    title: str
    text: str


@dataclass(frozen=True)
class Prompt:
    system: str
    question: str
    passages: list[PassageIn]

    @property
    def guard(self) -> str:
        match = _GUARD.search(self.system)
        return match.group(1) if match else ""


def read_prompt(messages: list[dict[str, str]]) -> Prompt:
    """The parts of a chat prompt the stand-in answers from."""
    system = "\n".join(m.get("content", "") for m in messages if m.get("role") == "system")
    user = next((m.get("content", "") for m in reversed(messages) if m.get("role") == "user"), "")
    passages = []
    for match in _PASSAGE.finditer(user):
        title = _TITLE.search(match.group(2))
        passages.append(
            PassageIn(
                number=int(match.group(1)),
                title=html.unescape(title.group(1)) if title else "",
                text=html.unescape(match.group(3)).strip(),
            )
        )
    question = _QUESTION.search(user)
    return Prompt(
        system=system,
        question=html.unescape(question.group(1)).strip() if question else user.strip(),
        passages=passages,
    )


def _words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if w not in _COMMON}


def _shared(asked: set[str], text: str) -> int:
    """How many of the question's words `text` has (a shared first five letters counts)."""
    have = _words(text)
    stems = {w[:5] for w in have}
    return sum(1 for w in asked if w in have or w[:5] in stems)


def best_passage(prompt: Prompt) -> PassageIn | None:
    """The passage sharing most words with the question, if it shares at least half of them
    (None otherwise: the careful answer is then "I cannot answer")."""
    asked = _words(prompt.question)
    best, best_overlap = None, 0
    for passage in prompt.passages:
        overlap = _shared(asked, f"{passage.title} {passage.text}")
        if overlap > best_overlap:
            best, best_overlap = passage, overlap
    return best if asked and best_overlap * 2 >= len(asked) else None


def answer(prompt: Prompt) -> str:
    """What a careful model would reply: the passage's sentence that matches the question
    best (and the next one when it is short), with the citation."""
    if not prompt.passages and "reply with the single word ok" in prompt.question.lower():
        return "OK"
    passage = best_passage(prompt)
    if passage is None:
        return "NO_ANSWER"
    asked = _words(prompt.question)
    sentences = [s.strip() for s in _SENTENCE.split(passage.text) if s.strip()]
    best = max(range(len(sentences)), key=lambda i: (_shared(asked, sentences[i]), -i))
    chosen = sentences[best : best + 2] if len(sentences[best]) < 80 else sentences[best : best + 1]
    return f"{' '.join(chosen)} [{passage.number}]"


def count_tokens(text: str) -> int:
    """A rough token count (about four characters a token), for `usage`."""
    return max(1, len(text) // 4) if text else 0
