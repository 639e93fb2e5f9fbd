"""Turning a document's extracted content into its searchable chunks.

`prepare` decides everything that needs no database (language, text-search configuration,
chunks, vocabulary); `embed` adds vectors when a provider is configured; `make_live`
replaces the document's chunks in the caller's transaction, so a search sees the previous
version or this one whole, never a mix or nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

from parley_knowledge.domain.blocks import ExtractedDocument
from parley_knowledge.domain.chunking import Chunk, ChunkSizes, chunk_blocks
from parley_knowledge.domain.languages import detect_language, text_search_config
from parley_knowledge.domain.ranking import vocabulary
from parley_knowledge.repository.chunks import NewChunk
from parley_knowledge.repository.documents import Document
from parley_knowledge.service.embeddings import EmbeddingClient, EmbeddingUnavailable
from parley_knowledge.service.work import Work

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PreparedIndex:
    """A revision's chunks, ready to store."""

    language: str
    config: str
    title: str | None
    page_count: int
    chunks: tuple[NewChunk, ...]
    vocabulary: frozenset[str]
    embedding_model: str | None = None


def prepare(
    extracted: ExtractedDocument,
    *,
    language: str | None,
    default_language: str,
    sizes: ChunkSizes,
) -> PreparedIndex:
    """Chunks of `extracted` in its language (`language` when the uploader named it, else
    detected, else `default_language`)."""
    language = language or detect_language(extracted.text, default_language)
    chunks: list[Chunk] = chunk_blocks(extracted.blocks, sizes)
    return PreparedIndex(
        language=language,
        config=text_search_config(language),
        title=extracted.title,
        page_count=extracted.page_count,
        chunks=tuple(
            NewChunk(
                ordinal=c.ordinal,
                text=c.text,
                heading_path=c.heading_path,
                page=c.page,
                token_count=c.token_count,
            )
            for c in chunks
        ),
        vocabulary=frozenset(vocabulary(extracted.text)),
    )


def embedding_input(chunk: NewChunk) -> str:
    """What a chunk's embedding is computed from: its heading path and text."""
    heading = " > ".join(chunk.heading_path)
    return f"{heading}\n{chunk.text}" if heading else chunk.text


async def embed(prepared: PreparedIndex, embedder: EmbeddingClient | None) -> PreparedIndex:
    """`prepared` with embeddings, when a provider is configured and answers; without them
    otherwise (full-text search still finds the chunks, and the embedding upkeep adds them
    later)."""
    if embedder is None or not prepared.chunks:
        return prepared
    try:
        vectors = await embedder.embed([embedding_input(c) for c in prepared.chunks])
    except EmbeddingUnavailable as exc:
        log.warning("indexing without embeddings for now", extra={"reason": str(exc)})
        return prepared
    return replace(
        prepared,
        chunks=tuple(
            replace(c, embedding=v) for c, v in zip(prepared.chunks, vectors, strict=True)
        ),
        embedding_model=embedder.model,
    )


async def make_live(
    work: Work, document: Document, revision: int, prepared: PreparedIndex
) -> Document:
    """Make `prepared` the searchable content of `document` (revision `revision`) and mark
    it ready, in `work`'s transaction."""
    title = document.title or prepared.title or "Untitled"
    await work.chunks.replace_document_chunks(
        document.id, revision, title, prepared.config, prepared.chunks, prepared.embedding_model
    )
    await work.chunks.add_terms(set(prepared.vocabulary))
    ready = await work.documents.mark_ready(
        document.id,
        revision=revision,
        language=prepared.language,
        page_count=prepared.page_count,
        chunk_count=len(prepared.chunks),
        title=None,
        embedding_model=prepared.embedding_model,
    )
    work.document_changed(ready)
    return ready
