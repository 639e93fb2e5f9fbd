"""Splitting a long reply into WhatsApp texts of at most 4096 characters, at the most natural
boundary available: a paragraph, then a sentence, then a word; inside a word only when one
word alone is longer than the limit."""

from __future__ import annotations

import re

TEXT_LIMIT = 4096
# A sentence ends at . ! ? or an ellipsis, perhaps followed by closing quotes or brackets.
_SENTENCE_END = re.compile("[.!?\u2026][\"'\u201d\u2019)\\]]*\\s+|\n")
_WHITESPACE = re.compile(r"\s+")


def split_text(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """`text` as parts of at most `limit` characters, in order, none empty."""
    if limit < 1:
        raise ValueError("limit must be positive")
    parts: list[str] = []
    rest = text.strip()
    while len(rest) > limit:
        cut = _cut_point(rest, limit)
        part = rest[:cut].rstrip()
        if part:
            parts.append(part)
        rest = rest[cut:].lstrip()
    if rest:
        parts.append(rest)
    return parts


def _cut_point(text: str, limit: int) -> int:
    """Where to end the next part: just after the last good boundary within `limit`."""
    window = text[: limit + 1]  # a boundary right at the limit is still usable
    # Do not cut so early that parts become tiny: a boundary in the first third is ignored
    # in favour of a weaker one later on.
    floor = limit // 3
    paragraph = window.rfind("\n\n", 0, limit)
    if paragraph >= floor:
        return paragraph + 2
    sentence_ends = [m.end() for m in _SENTENCE_END.finditer(window) if m.end() <= limit]
    if sentence_ends and sentence_ends[-1] >= floor:
        return sentence_ends[-1]
    spaces = [m.end() for m in _WHITESPACE.finditer(window) if m.start() < limit]
    if spaces:
        return min(spaces[-1], limit)
    return limit  # one word longer than the limit: cut it
