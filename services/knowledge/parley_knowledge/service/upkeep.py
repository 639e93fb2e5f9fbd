"""Embedding upkeep: documents whose chunks lack embeddings of the configured model get
them, in the background.

That covers documents indexed while the provider was down, documents indexed before a
provider was configured, and every document after the model changes (re-embedding). Until a
document is (re-)embedded, search finds it by full text only: vector search compares only
embeddings of the current model.
"""

from __future__ import annotations

import logging
from datetime import datetime
from uuid import UUID

from parley_platform.db import Database
from sqlalchemy import text

from parley_knowledge.service.embeddings import EmbeddingClient, EmbeddingUnavailable
from parley_knowledge.service.work import tenant_work

log = logging.getLogger(__name__)

DOCUMENTS_PER_RUN = 50


class EmbeddingUpkeep:
    """One run embeds up to `DOCUMENTS_PER_RUN` documents (a periodic job)."""

    def __init__(self, database: Database, embedder: EmbeddingClient) -> None:
        self._database = database
        self._embedder = embedder

    async def run(self) -> int:
        """Embed documents that need it; returns how many were done."""
        async with self._database.system_session() as session:
            rows = (
                await session.execute(
                    text("SELECT tenant_id, document_id FROM knowledge_documents_to_embed(:m, :n)"),
                    {"m": self._embedder.model, "n": DOCUMENTS_PER_RUN},
                )
            ).all()
        done = 0
        for row in rows:
            try:
                if await self._embed_document(row.tenant_id, row.document_id):
                    done += 1
            except EmbeddingUnavailable as exc:
                log.warning("embedding upkeep paused", extra={"reason": str(exc)})
                break
        return done

    async def _embed_document(self, tenant_id: UUID, document_id: UUID) -> bool:
        async with tenant_work(self._database, tenant_id) as work:
            document = await work.documents.get(document_id)
            if document is None or document.live_revision is None:
                return False
            revision: tuple[int | None, datetime | None] = (
                document.live_revision,
                document.indexed_at,
            )
            chunks = await work.chunks.texts_of(document_id)
        vectors = await self._embedder.embed([c.text for c in chunks]) if chunks else []
        async with tenant_work(self._database, tenant_id) as work:
            current = await work.documents.get(document_id, lock=True)
            if current is None or (current.live_revision, current.indexed_at) != revision:
                return False  # replaced or deleted meanwhile: its new chunks come next run
            await work.chunks.set_embeddings(
                [(c.id, v) for c, v in zip(chunks, vectors, strict=True)], self._embedder.model
            )
            await work.documents.mark_embedded(document_id, self._embedder.model)
        return True
