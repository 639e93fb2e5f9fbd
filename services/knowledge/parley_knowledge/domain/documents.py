"""Documents as the business sees them: their kinds, states, and the quota rules."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Kind(StrEnum):
    TEXT = "text"  # sent as JSON {title, text}
    FILE = "file"  # an uploaded file
    FAQ = "faq"  # one question and its answer
    WEB_PAGE = "web_page"  # a page of an imported website


class State(StrEnum):
    """Where a document is in the pipeline. A document whose new version is processed or
    failed may still be searchable in its previous version (`live_revision`)."""

    QUEUED = "queued"
    PROCESSING = "processing"
    READY = "ready"
    FAILED = "failed"


# Failure reasons a person understands (extraction adds its own, more precise ones).
REASON_INTERNAL = (
    "processing stopped on an internal error several times; upload the document again, and "
    "contact support if it keeps failing"
)


@dataclass(frozen=True)
class Usage:
    """What a tenant's knowledge base holds, counted against its quotas."""

    documents: int
    bytes: int
    pages: int

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.documents + other.documents, self.bytes + other.bytes, self.pages + other.pages
        )

    def __sub__(self, other: Usage) -> Usage:
        return Usage(
            self.documents - other.documents, self.bytes - other.bytes, self.pages - other.pages
        )


@dataclass(frozen=True)
class Quotas:
    """Per-tenant limits (0: no limit)."""

    documents: int
    bytes: int
    pages: int

    def exceeded_by(self, usage: Usage) -> str | None:
        """Why `usage` is over a limit (a sentence for the business), or None when it fits."""
        if self.documents and usage.documents > self.documents:
            return (
                f"the knowledge base would hold {usage.documents} documents; the limit is "
                f"{self.documents}. Delete documents you no longer need first"
            )
        if self.bytes and usage.bytes > self.bytes:
            return (
                f"the knowledge base would hold {_size(usage.bytes)}; the limit is "
                f"{_size(self.bytes)}. Delete documents you no longer need first"
            )
        if self.pages and usage.pages > self.pages:
            return (
                f"the knowledge base would hold {usage.pages} pages; the limit is "
                f"{self.pages}. Delete documents you no longer need first"
            )
        return None


def _size(size: int) -> str:
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size / (1024 * 1024):.1f} MB"
