"""Adding, replacing and deleting documents.

An upload is checked before anything is stored: its kind (415), a bounded look at whether it
can be read at all (422: damaged, password-protected, no text), the tenant's quotas. Then
the document (or the new revision of the document with the same external id) is stored with
its bytes, queued, and handed to the ingestion pipeline through the outbox in the same
transaction, so an accepted upload is never lost and never half stored.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
from dataclasses import dataclass
from uuid import UUID

from parley_platform.errors import Conflict, NotFound, PayloadTooLarge

from parley_knowledge.config import Settings
from parley_knowledge.domain.documents import Kind, Quotas, State, Usage
from parley_knowledge.domain.extraction import (
    MediaType,
    UnreadableDocument,
    UnsupportedDocumentType,
    decode_text,
    detect_media_type,
    extract,
)
from parley_knowledge.errors import QuotaExceeded, UnreadableContent, UnsupportedMediaType
from parley_knowledge.events.outgoing import ingest_requested
from parley_knowledge.repository.documents import Document, NewDocument
from parley_knowledge.service.work import Work

# At upload, a PDF is read this many pages at most looking for text (the pipeline reads all).
PDF_TEXT_PROBE_PAGES = 10


@dataclass(frozen=True)
class Upload:
    """A document as it arrives: its bytes and what the uploader said about them."""

    kind: Kind
    content: bytes
    title: str | None = None
    declared_type: str | None = None
    filename: str | None = None
    external_id: str | None = None
    language: str | None = None
    source_uri: str | None = None
    website_id: UUID | None = None


@dataclass(frozen=True)
class Checked:
    """An upload that passed the checks: its kind and page count."""

    media_type: MediaType
    page_count: int
    title: str | None


@dataclass(frozen=True)
class Accepted:
    """The stored document; `unchanged` when the same content was already there."""

    document: Document
    replaced: bool = False
    unchanged: bool = False


def quotas_of(settings: Settings) -> Quotas:
    return Quotas(settings.quota_documents, settings.quota_bytes, settings.quota_pages)


async def check(upload: Upload, settings: Settings) -> Checked:
    """The upload's kind and page count, or the 413/415/422 that says why it is refused
    (a bounded amount of work: the pipeline reads the whole document later)."""
    if len(upload.content) > settings.max_document_bytes:
        raise PayloadTooLarge(
            f"the document is {len(upload.content)} bytes; the limit is "
            f"{settings.max_document_bytes} bytes"
        )
    if not upload.content.strip():
        raise UnreadableContent("the document is empty")
    try:
        media_type = detect_media_type(upload.declared_type, upload.filename, upload.content[:8192])
        return await asyncio.to_thread(_probe, upload.content, media_type)
    except UnsupportedDocumentType as exc:
        raise UnsupportedMediaType(str(exc)) from exc
    except UnreadableDocument as exc:
        raise UnreadableContent(str(exc)) from exc


def _probe(content: bytes, media_type: MediaType) -> Checked:
    if media_type is MediaType.PDF:
        return _probe_pdf(content)
    if media_type is not MediaType.DOCX:
        decode_text(content)  # an encoding we cannot read fails here, not in the pipeline
    extracted = extract(content, media_type)  # cheap for text formats and DOCX
    return Checked(media_type, extracted.page_count, extracted.title)


def _probe_pdf(content: bytes) -> Checked:
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(io.BytesIO(content))
        if reader.is_encrypted and not reader.decrypt(""):
            raise UnreadableDocument(
                "the PDF is password-protected; upload a copy without a password"
            )
        pages = reader.pages
        count = len(pages)
        if count == 0:
            raise UnreadableDocument("the PDF has no pages")
        for page in list(pages)[:PDF_TEXT_PROBE_PAGES]:
            if (page.extract_text() or "").strip():
                break
        else:
            if count <= PDF_TEXT_PROBE_PAGES:
                raise UnreadableDocument(
                    "the PDF has no text layer (it may be scanned images); upload a PDF "
                    "with selectable text"
                )
    except UnreadableDocument:
        raise
    except (PyPdfError, ValueError, KeyError, OSError) as exc:
        raise UnreadableDocument("the file is damaged or not a PDF") from exc
    try:
        title = (reader.metadata.title if reader.metadata else None) or None
    except (PyPdfError, ValueError, KeyError):
        title = None
    return Checked(MediaType.PDF, count, title)


def content_hash(upload: Upload) -> str:
    """Identifies an upload's content and title: the same upload again changes nothing."""
    digest = hashlib.sha256(upload.content)
    digest.update(b"\0" + (upload.title or "").encode() + b"\0" + (upload.language or "").encode())
    return digest.hexdigest()


async def accept(
    work: Work,
    upload: Upload,
    checked: Checked,
    quotas: Quotas,
    *,
    replacing: UUID | None = None,
) -> Accepted:
    """Store the upload as a new document, or as the next revision of the document
    `replacing` (or of the one with the same external id), and queue it for ingestion."""
    await work.documents.lock_quota()
    if replacing is not None:
        existing = await work.documents.get(replacing, lock=True)
        if existing is None or existing.kind != upload.kind:
            raise NotFound("no such document")
    elif upload.external_id:
        existing = await work.documents.by_external_id(upload.external_id, lock=True)
    else:
        existing = None
    if existing is not None and existing.kind != upload.kind:
        raise Conflict(
            f"external id {upload.external_id!r} belongs to a {existing.kind.value} document; "
            "use another external id, or delete that document first"
        )
    digest = content_hash(upload)
    if existing is not None and existing.content_hash == digest and existing.state != State.FAILED:
        return Accepted(existing, unchanged=True)
    added = Usage(1, len(upload.content), checked.page_count)
    usage = await work.documents.usage() + added
    if existing is not None:
        usage = usage - existing.usage
    if (reason := quotas.exceeded_by(usage)) is not None:
        raise QuotaExceeded(reason)
    new = NewDocument(
        kind=upload.kind,
        title=upload.title or checked.title or _title_from_filename(upload.filename),
        media_type=checked.media_type.value,
        content_hash=digest,
        byte_size=len(upload.content),
        page_count=checked.page_count,
        external_id=upload.external_id if existing is None else existing.external_id,
        source_uri=upload.source_uri or upload.filename,
        language=upload.language,
        website_id=upload.website_id,
    )
    if existing is not None:
        document = await work.documents.replace_version(existing.id, new)
    else:
        document = await work.documents.add(new)
    await work.documents.store_source(
        document.id, document.revision, upload.content, upload.filename
    )
    work.document_changed(document)
    work.emit(ingest_requested(work.tenant_id, document))
    return Accepted(document, replaced=existing is not None)


def _title_from_filename(filename: str | None) -> str:
    if not filename:
        return "Untitled"
    stem = filename.rsplit("/", 1)[-1]
    return stem.rsplit(".", 1)[0] if "." in stem else stem


async def delete(work: Work, document_id: UUID) -> Document:
    """Delete a document: its chunks leave search when the transaction commits."""
    deleted = await work.documents.delete(document_id)
    if deleted is None:
        raise NotFound("no such document")
    work.document_changed(deleted, deleted=True)
    return deleted
