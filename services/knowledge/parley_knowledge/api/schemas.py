"""Request and response bodies of the knowledge API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, Field, field_validator

from parley_knowledge.domain.languages import is_language_code
from parley_knowledge.repository.documents import Document
from parley_knowledge.service.search import SearchResult

ExternalId = Annotated[
    str,
    Field(
        min_length=1,
        max_length=200,
        description="Your own id for the document: uploading the same external id again "
        "replaces the previous version atomically",
    ),
]
Language = Annotated[
    str,
    Field(
        min_length=2,
        max_length=2,
        description="ISO 639-1 code of the document's language (detected when omitted)",
    ),
]


def language_code(value: str | None) -> str | None:
    """Validator: an ISO 639-1 code or nothing."""
    if value is not None and not is_language_code(value):
        raise ValueError("language must be a lowercase ISO 639-1 code such as `en`")
    return value


class TextDocumentIn(BaseModel):
    """A document sent as text (Markdown headings are kept as headings)."""

    title: str = Field(min_length=1, max_length=300)
    text: str = Field(min_length=1, description="The document's text (plain or Markdown)")
    external_id: ExternalId | None = None
    language: Language | None = None

    _check_language = field_validator("language")(language_code)

    @field_validator("title")
    @classmethod
    def _title_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("title must not be blank")
        return " ".join(value.split())


class DocumentOut(BaseModel):
    """A document and where it is in processing."""

    id: UUID
    kind: Literal["text", "file", "faq", "web_page"]
    title: str
    external_id: str | None
    source_uri: str | None
    media_type: str
    language: str | None
    state: Literal["queued", "processing", "ready", "failed"]
    failure_reason: str | None = Field(description="Why processing failed, for a person")
    searchable: bool = Field(description="Whether a version of the document is in search now")
    revision: int = Field(description="Version number: 1, then +1 per replacement")
    page_count: int
    chunk_count: int
    byte_size: int
    website_id: UUID | None
    embedding_model: str | None = Field(
        description="The embedding model of its chunks (none: found by full text only)"
    )
    created_at: datetime
    updated_at: datetime
    indexed_at: datetime | None

    @classmethod
    def of(cls, document: Document) -> DocumentOut:
        return cls(
            id=document.id,
            kind=document.kind.value,
            title=document.title,
            external_id=document.external_id,
            source_uri=document.source_uri,
            media_type=document.media_type,
            language=document.language,
            state=document.state.value,
            failure_reason=document.failure_reason,
            searchable=document.live_revision is not None,
            revision=document.revision,
            page_count=document.page_count,
            chunk_count=document.chunk_count,
            byte_size=document.byte_size,
            website_id=document.website_id,
            embedding_model=document.embedding_model,
            created_at=document.created_at,
            updated_at=document.updated_at,
            indexed_at=document.indexed_at,
        )


class DocumentPage(BaseModel):
    items: list[DocumentOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page")


class SearchIn(BaseModel):
    """A query, as the AI would send it."""

    query: str = Field(min_length=1, max_length=2000)
    top_k: int = Field(default=5, ge=1, le=50)
    min_score: float = Field(default=0.0, ge=0, le=1)


class ChunkOut(BaseModel):
    """A chunk exactly as the AI receives it."""

    chunk_id: UUID
    document_id: UUID
    document_title: str
    document_kind: str
    document_external_id: str | None
    text: str
    score: float = Field(description="Fused score in (0, 1]: reciprocal rank fusion")
    heading: str
    heading_path: list[str]
    source_uri: str | None
    page: int | None
    language: str | None
    term_coverage: float = Field(description="Fraction of the query's words in the chunk")
    vector_similarity: float = Field(description="Cosine similarity (0 without embeddings)")

    @classmethod
    def of(cls, result: SearchResult) -> ChunkOut:
        c = result.chunk
        return cls(
            chunk_id=c.id,
            document_id=c.document_id,
            document_title=c.document_title,
            document_kind=c.document_kind,
            document_external_id=c.external_id,
            text=c.text,
            score=round(result.score, 6),
            heading=c.heading,
            heading_path=list(c.heading_path),
            source_uri=c.source_uri,
            page=c.page,
            language=c.language,
            term_coverage=round(c.term_coverage, 4),
            vector_similarity=round(result.vector_similarity, 4),
        )


class SearchOut(BaseModel):
    results: list[ChunkOut]
