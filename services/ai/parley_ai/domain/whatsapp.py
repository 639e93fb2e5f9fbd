"""Text as WhatsApp shows it: its own markdown (`*bold*`, `_italic_`, `~strike~`,
```` ```mono``` ````), no HTML, no Markdown headings or link syntax, and at most 4096 characters
in one message. Links that the knowledge base does not contain are removed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

MAX_MESSAGE_CHARS = 4096

_URL = re.compile(r"(?i)\b(?:https?://|www\.)[^\s<>()\[\]{}\"'`]+")
_MD_LINK = re.compile(r"\[([^\]\n]{1,300})\]\(([^)\s]{1,2000})\)")
_MD_BOLD = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")
_MD_ITALIC = re.compile(r"(?<![\*\w])\*(?=\S)([^*\n]+?)(?<=\S)\*(?![\*\w])")
_MD_STRIKE = re.compile(r"~~(?=\S)(.+?)(?<=\S)~~")
_MD_HEADING = re.compile(r"(?m)^\s{0,3}#{1,6}\s+(.+?)\s*#*\s*$")
_MD_BULLET = re.compile(r"(?m)^(\s*)[*+]\s+")
_HTML_TAG = re.compile(r"</?[a-zA-Z][^<>]{0,200}>")
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+|\n+")
_TRAILING_PUNCTUATION = ".,;:!?)]}'\""


def _clean_url(url: str) -> str:
    return url.rstrip(_TRAILING_PUNCTUATION)


def canonical_url(url: str) -> str:
    """A URL reduced for comparison: scheme, `www.` and a trailing slash do not matter."""
    lowered = _clean_url(url).lower()
    lowered = re.sub(r"^https?://", "", lowered)
    lowered = lowered.removeprefix("www.")
    return lowered.rstrip("/")


def urls_in(texts: Iterable[str]) -> set[str]:
    """The canonical form of every URL in `texts`."""
    return {canonical_url(m.group(0)) for text in texts for m in _URL.finditer(text)}


def remove_foreign_links(text: str, allowed: set[str]) -> tuple[str, list[str]]:
    """`text` without the URLs not in `allowed` (canonical forms), and the URLs removed.
    A Markdown link to a removed URL keeps its words."""
    removed: list[str] = []

    def markdown_link(match: re.Match[str]) -> str:
        label, url = match.group(1), match.group(2)
        if canonical_url(url) in allowed:
            return f"{label} ({_clean_url(url)})"
        removed.append(url)
        return label

    def bare(match: re.Match[str]) -> str:
        url = match.group(0)
        cleaned = _clean_url(url)
        if canonical_url(cleaned) in allowed:
            return url
        removed.append(cleaned)
        return url[len(cleaned) :]  # keep punctuation that followed the link

    text = _MD_LINK.sub(markdown_link, text)
    text = _URL.sub(bare, text)
    # Tidy what a removal leaves: "see  ." or "( )".
    text = re.sub(r"\(\s*\)", "", text)
    text = re.sub(r"[ \t]+([.,;:!?])", r"\1", text)
    text = re.sub(r"[ \t]{2,}", " ", text)
    return text.strip(), removed


def to_whatsapp(text: str) -> str:
    """Markdown (as models write it) turned into WhatsApp's formatting."""
    text = _HTML_TAG.sub("", text)
    # Italic first (a single asterisk), then bold, so that `**x**` ends as `*x*`; headings
    # last, as bold lines.
    text = _MD_ITALIC.sub(r"_\1_", text)
    text = _MD_BOLD.sub(r"*\2*", text)
    text = _MD_STRIKE.sub(r"~\1~", text)
    text = _MD_HEADING.sub(lambda m: f"*{m.group(1).strip('*_ ')}*", text)
    text = _MD_BULLET.sub(r"\1- ", text)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip()


def fit(text: str, limit: int) -> str:
    """`text` cut to at most `limit` characters, at the end of a sentence when one is near
    (an ellipsis marks the cut)."""
    if len(text) <= limit:
        return text
    room = text[: max(0, limit - 1)]
    ends = [m.start() for m in _SENTENCE_END.finditer(room)]
    if ends and ends[-1] >= limit * 0.5:
        return room[: ends[-1]].rstrip()
    cut = room.rsplit(" ", 1)[0] if " " in room[int(limit * 0.5) :] else room
    return cut.rstrip(" ,;:") + "…"


def with_sources(body: str, label: str, titles: list[str], limit: int = MAX_MESSAGE_CHARS) -> str:
    """The message a customer reads: `body` then a line naming its sources, within `limit`."""
    unique = list(dict.fromkeys(t.strip() for t in titles if t.strip()))
    footer = f"\n\n_{label}: {'; '.join(unique)}_" if unique else ""
    if len(footer) > limit // 4:
        footer = fit(footer, limit // 4)
    return fit(body, limit - len(footer)) + footer
