"""Cutting a document into chunks for retrieval.

Chunks follow the document's structure: a heading starts a new chunk, and each chunk keeps
the path of headings above it (`Returns > Refunds`) and the page it starts on. Within a
section, passages are gathered until the target size; a passage longer than the maximum is
cut at sentence ends (at words as a last resort). Consecutive chunks of one section
overlap by about `overlap_tokens`, the end of one repeated at the start of the next, so an
answer that straddles the cut is still found whole in one of them.

Sizes are in approximate tokens (words and punctuation marks): close enough to the
tokenizers of embedding models for sizing, and free of any model's vocabulary.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from parley_knowledge.domain.blocks import Block

_TOKEN = re.compile(r"\w+|[^\w\s]", re.UNICODE)
_SENTENCE_END = re.compile(r"(?<=[.!?\u3002\uff01\uff1f])\s+|\n+")
HEADING_SEPARATOR = " > "


def count_tokens(text: str) -> int:
    """Approximate token count: words and punctuation marks."""
    return len(_TOKEN.findall(text))


@dataclass(frozen=True)
class ChunkSizes:
    """Target, maximum and overlap of chunks, in approximate tokens."""

    target: int = 300
    maximum: int = 450
    overlap: int = 50

    def __post_init__(self) -> None:
        if not 0 < self.target <= self.maximum:
            raise ValueError("chunk sizes need 0 < target <= maximum")
        if not 0 <= self.overlap < self.target:
            raise ValueError("chunk overlap must be smaller than the target size")


@dataclass(frozen=True)
class Chunk:
    """One retrievable piece of a document."""

    ordinal: int
    text: str
    heading_path: tuple[str, ...]
    page: int | None
    token_count: int

    @property
    def heading(self) -> str:
        return HEADING_SEPARATOR.join(self.heading_path)


@dataclass(frozen=True)
class _Piece:
    text: str
    page: int | None
    tokens: int


def _split_long(text: str, maximum: int) -> Iterator[str]:
    """`text` in parts of at most `maximum` tokens: at sentence ends, else at words."""
    sentences = [s.strip() for s in _SENTENCE_END.split(text) if s.strip()]
    part: list[str] = []
    size = 0
    for sentence in sentences:
        tokens = count_tokens(sentence)
        if tokens > maximum:
            if part:
                yield " ".join(part)
                part, size = [], 0
            words = sentence.split()
            for start in range(0, len(words), max(1, maximum * 2 // 3)):
                yield " ".join(words[start : start + max(1, maximum * 2 // 3)])
            continue
        if part and size + tokens > maximum:
            yield " ".join(part)
            part, size = [], 0
        part.append(sentence)
        size += tokens
    if part:
        yield " ".join(part)


def _tail(pieces: list[_Piece], overlap: int) -> list[_Piece]:
    """The last sentences of `pieces`, about `overlap` tokens, to start the next chunk."""
    if overlap <= 0 or not pieces:
        return []
    last = pieces[-1]
    sentences = [s.strip() for s in _SENTENCE_END.split(last.text) if s.strip()]
    kept: list[str] = []
    size = 0
    for sentence in reversed(sentences):
        tokens = count_tokens(sentence)
        if kept and size + tokens > overlap:
            break
        if not kept and tokens > overlap * 2:
            words = sentence.split()
            sentence = " ".join(words[-overlap:])
            tokens = count_tokens(sentence)
        kept.insert(0, sentence)
        size += tokens
    text = " ".join(kept)
    return [_Piece(text, last.page, size)] if text else []


def chunk_blocks(blocks: Iterable[Block], sizes: ChunkSizes | None = None) -> list[Chunk]:
    """The chunks of a document given as blocks in reading order."""
    sizes = sizes or ChunkSizes()
    chunks: list[Chunk] = []
    path: list[tuple[int, str]] = []  # (level, heading) from the top
    pending: list[_Piece] = []
    pending_tokens = 0
    fresh = 0  # tokens in `pending` that no earlier chunk holds (overlap excluded)

    def heading_path() -> tuple[str, ...]:
        return tuple(h for _, h in path)

    def flush(overlap_next: bool) -> None:
        nonlocal pending, pending_tokens, fresh
        if fresh > 0 and pending:
            text = "\n\n".join(p.text for p in pending)
            chunks.append(
                Chunk(
                    ordinal=len(chunks),
                    text=text,
                    heading_path=heading_path(),
                    page=next((p.page for p in pending if p.page is not None), None),
                    token_count=pending_tokens,
                )
            )
        pending = _tail(pending, sizes.overlap) if overlap_next and fresh > 0 else []
        pending_tokens = sum(p.tokens for p in pending)
        fresh = 0

    for block in blocks:
        text = block.text.strip()
        if not text:
            continue
        if block.is_heading:
            flush(overlap_next=False)
            while path and path[-1][0] >= block.level:
                path.pop()
            path.append((block.level, " ".join(text.split())))
            continue
        tokens = count_tokens(text)
        parts = [text] if tokens <= sizes.maximum else list(_split_long(text, sizes.maximum))
        for part in parts:
            part_tokens = count_tokens(part)
            if fresh > 0 and pending_tokens + part_tokens > sizes.maximum:
                flush(overlap_next=True)
            pending.append(_Piece(part, block.page, part_tokens))
            pending_tokens += part_tokens
            fresh += part_tokens
            if pending_tokens >= sizes.target:
                flush(overlap_next=True)
    flush(overlap_next=False)
    return chunks
