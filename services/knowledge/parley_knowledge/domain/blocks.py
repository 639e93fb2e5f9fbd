"""What extraction produces and chunking consumes: a document as a sequence of blocks
(headings and passages) with the page each starts on."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Block:
    """A heading (`level` 1-6) or a passage of text (`level` 0: a paragraph, list, table or
    code block), and the page it starts on (None where pages mean nothing)."""

    text: str
    level: int = 0
    page: int | None = None

    @property
    def is_heading(self) -> bool:
        return self.level > 0


@dataclass(frozen=True)
class ExtractedDocument:
    """A document's readable content: a title (when the content names one), its blocks in
    reading order, and its page count (1 for content without pages)."""

    blocks: tuple[Block, ...]
    page_count: int = 1
    title: str | None = None
    links: tuple[str, ...] = field(default=())

    @property
    def text(self) -> str:
        """All the text, blocks separated by blank lines (for language detection)."""
        return "\n\n".join(b.text for b in self.blocks)

    @property
    def is_empty(self) -> bool:
        return not any(b.text.strip() for b in self.blocks if not b.is_heading)
