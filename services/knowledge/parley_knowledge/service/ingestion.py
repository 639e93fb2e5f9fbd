"""The ingestion pipeline's work on one document revision: extract → chunk → (embed) →
index, in two short transactions around the slow part.

1. Check the revision is still the one to process, mark the document `processing`, read
   its bytes.
2. Outside any transaction: extract the text (in a worker thread), chunk it, compute
   embeddings when a provider is configured.
3. Lock the document, check again that this revision is still wanted (it may have been
   deleted or replaced meanwhile), replace its chunks and mark it `ready`, with the
   document-changed event, in one transaction.

A crash anywhere leaves either the previous state or the finished one; the redelivered
request finds the revision already live and does nothing, so a document becomes ready once
and never has duplicate chunks.
"""

from __future__ import annotations

import asyncio
import logging
from uuid import UUID

from parley_platform.db import Database

from parley_knowledge import metrics
from parley_knowledge.config import Settings
from parley_knowledge.domain.blocks import ExtractedDocument
from parley_knowledge.domain.chunking import ChunkSizes
from parley_knowledge.domain.documents import Kind, State
from parley_knowledge.domain.extraction import (
    MediaType,
    UnreadableDocument,
    decode_text,
    extract,
)
from parley_knowledge.domain.faq import faq_document
from parley_knowledge.repository.documents import Document
from parley_knowledge.service.embeddings import EmbeddingClient
from parley_knowledge.service.indexing import embed, make_live, prepare
from parley_knowledge.service.work import tenant_work

log = logging.getLogger(__name__)


def _extract(document: Document, content: bytes) -> ExtractedDocument:
    if document.kind == Kind.FAQ:
        return faq_document(document.title, decode_text(content))
    base_url = document.source_uri if document.kind == Kind.WEB_PAGE else None
    return extract(content, MediaType(document.media_type), base_url)


def _wanted(document: Document | None, revision: int) -> bool:
    """Whether `revision` of `document` still needs processing."""
    if document is None or document.revision != revision:
        return False  # deleted, or a newer revision supersedes it
    if document.state == State.FAILED:
        return False
    return not (document.state == State.READY and document.live_revision == revision)


class Ingestion:
    """Processes document revisions for the ingestion consumer."""

    def __init__(
        self, database: Database, settings: Settings, embedder: EmbeddingClient | None
    ) -> None:
        self._database = database
        self._settings = settings
        self._embedder = embedder
        self._sizes = ChunkSizes(
            settings.chunk_target_tokens, settings.chunk_max_tokens, settings.chunk_overlap_tokens
        )

    async def process(self, tenant_id: UUID, document_id: UUID, revision: int) -> None:
        """Bring `revision` of the document to `ready` (or `failed`, with the reason)."""
        async with tenant_work(self._database, tenant_id) as work:
            document = await work.documents.get(document_id, lock=True)
            if document is None or not _wanted(document, revision):
                return
            if document.state != State.PROCESSING:
                document = await work.documents.mark_processing(document_id)
                work.document_changed(document)
            source = await work.documents.source(document_id)
            default_language = (
                await work.preferences.default_language() or self._settings.default_language
            )
        if source is None or source.revision != revision:
            return
        started = asyncio.get_running_loop().time()
        try:
            extracted = await asyncio.to_thread(_extract, document, source.content)
        except UnreadableDocument as exc:
            await self.fail(tenant_id, document_id, revision, str(exc))
            return
        prepared = prepare(
            extracted,
            language=document.language,
            default_language=default_language,
            sizes=self._sizes,
        )
        prepared = await embed(prepared, self._embedder)
        async with tenant_work(self._database, tenant_id) as work:
            current = await work.documents.get(document_id, lock=True)
            if current is None or not _wanted(current, revision):
                return
            await make_live(work, current, revision, prepared)
        metrics.PAGES_INGESTED.labels(document.media_type).inc(prepared.page_count)
        metrics.INGEST_SECONDS.labels(document.media_type).observe(
            asyncio.get_running_loop().time() - started
        )

    async def fail(self, tenant_id: UUID, document_id: UUID, revision: int, reason: str) -> None:
        """Mark `revision` failed with `reason` (its previous version, if any, stays
        searchable)."""
        async with tenant_work(self._database, tenant_id) as work:
            document = await work.documents.get(document_id, lock=True)
            if document is None or not _wanted(document, revision):
                return
            if document.live_revision is not None:
                reason = f"{reason}. The previous version is still searchable"
            failed = await work.documents.mark_failed(document_id, reason)
            work.document_changed(failed)
        log.info("document failed", extra={"document_id": str(document_id), "reason": reason})
