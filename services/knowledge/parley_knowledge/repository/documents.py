"""Documents and their uploaded sources."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import and_, delete, func, insert, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from parley_knowledge.domain.documents import Kind, State, Usage
from parley_knowledge.repository.tables import document_sources, documents


@dataclass(frozen=True)
class Document:
    """A stored document (see the `documents` table)."""

    id: UUID
    kind: Kind
    title: str
    external_id: str | None
    source_uri: str | None
    media_type: str
    language: str | None
    state: State
    failure_reason: str | None
    revision: int
    live_revision: int | None
    byte_size: int
    page_count: int
    chunk_count: int
    content_hash: str
    website_id: UUID | None
    embedding_model: str | None
    created_at: datetime
    updated_at: datetime
    indexed_at: datetime | None

    @classmethod
    def of(cls, row: Any) -> Document:
        values = dict(row._mapping)
        values.pop("tenant_id", None)
        values["kind"] = Kind(values["kind"])
        values["state"] = State(values["state"])
        return cls(**values)

    @property
    def usage(self) -> Usage:
        return Usage(1, self.byte_size, self.page_count)


@dataclass(frozen=True)
class NewDocument:
    """What a new document (or a new version of one) starts with."""

    kind: Kind
    title: str
    media_type: str
    content_hash: str
    byte_size: int
    page_count: int
    external_id: str | None = None
    source_uri: str | None = None
    language: str | None = None
    website_id: UUID | None = None


@dataclass(frozen=True)
class Source:
    """The uploaded bytes of a document's latest revision."""

    revision: int
    filename: str | None
    content: bytes


class DocumentRepository:
    """Documents of one tenant (the session's)."""

    def __init__(self, session: AsyncSession, tenant_id: UUID) -> None:
        self._session = session
        self._tenant_id = tenant_id

    async def add(self, new: NewDocument, state: State = State.QUEUED) -> Document:
        row = (
            await self._session.execute(
                insert(documents)
                .values(
                    tenant_id=self._tenant_id,
                    id=uuid.uuid4(),
                    state=state.value,
                    **_values(new),
                )
                .returning(documents)
            )
        ).one()
        return Document.of(row)

    async def replace_version(self, document_id: UUID, new: NewDocument) -> Document:
        """Start a new revision of `document_id` with `new`'s facts (its live chunks stay
        searchable until the new revision is indexed)."""
        row = (
            await self._session.execute(
                update(documents)
                .where(documents.c.id == document_id)
                .values(
                    revision=documents.c.revision + 1,
                    state=State.QUEUED.value,
                    failure_reason=None,
                    updated_at=func.now(),
                    **_values(new),
                )
                .returning(documents)
            )
        ).one()
        return Document.of(row)

    async def get(self, document_id: UUID, *, lock: bool = False) -> Document | None:
        query = select(documents).where(documents.c.id == document_id)
        if lock:
            query = query.with_for_update()
        row = (await self._session.execute(query)).first()
        return Document.of(row) if row else None

    async def by_external_id(self, external_id: str, *, lock: bool = False) -> Document | None:
        query = select(documents).where(documents.c.external_id == external_id)
        if lock:
            query = query.with_for_update()
        row = (await self._session.execute(query)).first()
        return Document.of(row) if row else None

    async def of_website(self, website_id: UUID) -> list[Document]:
        rows = await self._session.execute(
            select(documents).where(documents.c.website_id == website_id)
        )
        return [Document.of(r) for r in rows]

    async def page(
        self,
        *,
        limit: int,
        after: tuple[datetime, UUID] | None = None,
        kinds: tuple[Kind, ...] = (),
        states: tuple[State, ...] = (),
        website_id: UUID | None = None,
    ) -> list[Document]:
        """Documents newest first, after the (created_at, id) cursor."""
        query = select(documents)
        if after is not None:
            created_at, document_id = after
            query = query.where(
                or_(
                    documents.c.created_at < created_at,
                    and_(documents.c.created_at == created_at, documents.c.id < document_id),
                )
            )
        if kinds:
            query = query.where(documents.c.kind.in_([k.value for k in kinds]))
        if states:
            query = query.where(documents.c.state.in_([s.value for s in states]))
        if website_id is not None:
            query = query.where(documents.c.website_id == website_id)
        query = query.order_by(documents.c.created_at.desc(), documents.c.id.desc()).limit(limit)
        return [Document.of(r) for r in await self._session.execute(query)]

    async def usage(self) -> Usage:
        row = (
            await self._session.execute(
                select(
                    func.count(),
                    func.coalesce(func.sum(documents.c.byte_size), 0),
                    func.coalesce(func.sum(documents.c.page_count), 0),
                )
            )
        ).one()
        return Usage(int(row[0]), int(row[1]), int(row[2]))

    async def lock_quota(self) -> None:
        """Serialise quota checks of this tenant until the transaction ends (two uploads at
        once cannot both take the last free place)."""
        await self._session.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
            {"key": f"knowledge-quota:{self._tenant_id}"},
        )

    async def mark_processing(self, document_id: UUID) -> Document:
        return await self._set(document_id, state=State.PROCESSING.value)

    async def mark_failed(self, document_id: UUID, reason: str) -> Document:
        return await self._set(document_id, state=State.FAILED.value, failure_reason=reason)

    async def mark_ready(
        self,
        document_id: UUID,
        *,
        revision: int,
        language: str,
        page_count: int,
        chunk_count: int,
        title: str | None,
        embedding_model: str | None,
    ) -> Document:
        values: dict[str, Any] = {
            "state": State.READY.value,
            "failure_reason": None,
            "live_revision": revision,
            "language": language,
            "page_count": page_count,
            "chunk_count": chunk_count,
            "embedding_model": embedding_model,
            "indexed_at": func.now(),
        }
        if title:
            values["title"] = title
        return await self._set(document_id, **values)

    async def mark_embedded(self, document_id: UUID, model: str) -> None:
        await self._session.execute(
            update(documents).where(documents.c.id == document_id).values(embedding_model=model)
        )

    async def _set(self, document_id: UUID, **values: Any) -> Document:
        row = (
            await self._session.execute(
                update(documents)
                .where(documents.c.id == document_id)
                .values(updated_at=func.now(), **values)
                .returning(documents)
            )
        ).one()
        return Document.of(row)

    async def delete(self, document_id: UUID) -> Document | None:
        """Delete the document with its source and chunks (they leave search when this
        transaction commits)."""
        row = (
            await self._session.execute(
                delete(documents).where(documents.c.id == document_id).returning(documents)
            )
        ).first()
        return Document.of(row) if row else None

    async def with_sources(self, found: list[Document]) -> dict[UUID, bytes]:
        """The stored bytes of each of `found` (FAQ answers, for one)."""
        if not found:
            return {}
        rows = await self._session.execute(
            select(document_sources.c.document_id, document_sources.c.content).where(
                document_sources.c.document_id.in_([d.id for d in found])
            )
        )
        return {r.document_id: bytes(r.content) for r in rows}

    # ------------------------------------------------------------------ sources

    async def store_source(
        self, document_id: UUID, revision: int, content: bytes, filename: str | None
    ) -> None:
        """Keep the bytes of `revision` (replacing an older revision's)."""
        await self._session.execute(
            text(
                "INSERT INTO document_sources "
                "(tenant_id, document_id, revision, filename, content) "
                "VALUES (:tenant_id, :document_id, :revision, :filename, :content) "
                "ON CONFLICT (tenant_id, document_id) DO UPDATE SET revision = EXCLUDED.revision, "
                "filename = EXCLUDED.filename, content = EXCLUDED.content"
            ),
            {
                "tenant_id": self._tenant_id,
                "document_id": document_id,
                "revision": revision,
                "filename": filename,
                "content": content,
            },
        )

    async def source(self, document_id: UUID) -> Source | None:
        row = (
            await self._session.execute(
                select(
                    document_sources.c.revision,
                    document_sources.c.filename,
                    document_sources.c.content,
                ).where(document_sources.c.document_id == document_id)
            )
        ).first()
        return Source(row.revision, row.filename, bytes(row.content)) if row else None


def _values(new: NewDocument) -> dict[str, Any]:
    return {
        "kind": new.kind.value,
        "title": new.title,
        "media_type": new.media_type,
        "content_hash": new.content_hash,
        "byte_size": new.byte_size,
        "page_count": new.page_count,
        "external_id": new.external_id,
        "source_uri": new.source_uri,
        "language": new.language,
        "website_id": new.website_id,
    }
