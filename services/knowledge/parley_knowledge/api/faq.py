"""FAQ entries: a question and its answer, added, edited and deleted one by one, or imported
from a CSV file. Each entry is a document of kind `faq` (listed with the other documents
too) and goes through the same pipeline; editing one makes a new version that replaces the
previous one atomically in search."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Path, Query, Request, Response, status
from parley_platform.errors import InvalidRequest, NotFound, PayloadTooLarge
from parley_platform.http.internal import CurrentPrincipal
from pydantic import BaseModel, Field, field_validator
from starlette.datastructures import UploadFile

from parley_knowledge.api import cursors
from parley_knowledge.api.dependencies import ComponentsDep, may_read, may_write
from parley_knowledge.api.schemas import ExternalId, Language, language_code
from parley_knowledge.domain.documents import Kind
from parley_knowledge.domain.faq import (
    MAX_ANSWER_CHARS,
    MAX_QUESTION_CHARS,
    FaqEntry,
    FaqImportError,
    imported_external_id,
    parse_faq_csv,
)
from parley_knowledge.errors import UnreadableContent, UnsupportedMediaType
from parley_knowledge.repository.documents import Document
from parley_knowledge.service import documents
from parley_knowledge.service.documents import Upload
from parley_knowledge.service.work import Work

router = APIRouter(prefix="/api/v1/knowledge/faq", tags=["knowledge"])
EntryId = Annotated[UUID, Path(description="The FAQ entry")]
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Not called through the gateway with a valid credential"},
    403: {"description": "Not allowed (role or API-key scope), or the quota is reached"},
    404: {"description": "No such FAQ entry in your knowledge base"},
}


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    return value.strip()


class FaqIn(BaseModel):
    question: str = Field(min_length=1, max_length=MAX_QUESTION_CHARS)
    answer: str = Field(min_length=1, max_length=MAX_ANSWER_CHARS)
    external_id: ExternalId | None = None
    language: Language | None = None

    _check_language = field_validator("language")(language_code)
    _check_text = field_validator("question", "answer")(_not_blank)


class FaqEditIn(BaseModel):
    question: str = Field(min_length=1, max_length=MAX_QUESTION_CHARS)
    answer: str = Field(min_length=1, max_length=MAX_ANSWER_CHARS)
    language: Language | None = None

    _check_language = field_validator("language")(language_code)
    _check_text = field_validator("question", "answer")(_not_blank)


class FaqOut(BaseModel):
    id: UUID
    question: str
    answer: str
    external_id: str | None
    language: str | None
    state: Literal["queued", "processing", "ready", "failed"]
    failure_reason: str | None
    revision: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, document: Document, answer: bytes | str) -> FaqOut:
        return cls(
            id=document.id,
            question=document.title,
            answer=answer if isinstance(answer, str) else answer.decode(),
            external_id=document.external_id,
            language=document.language,
            state=document.state.value,
            failure_reason=document.failure_reason,
            revision=document.revision,
            created_at=document.created_at,
            updated_at=document.updated_at,
        )


class FaqPage(BaseModel):
    items: list[FaqOut]
    next_cursor: str | None


class ImportOut(BaseModel):
    created: int = Field(description="New entries")
    updated: int = Field(description="Entries whose question or answer changed")
    unchanged: int = Field(description="Entries already stored exactly so")
    items: list[FaqOut]


async def _entry(work: Work, entry_id: UUID) -> Document:
    document = await work.documents.get(entry_id)
    if document is None or document.kind != Kind.FAQ:
        raise NotFound("no such FAQ entry")
    return document


def _upload(entry: FaqEntry) -> Upload:
    return Upload(
        kind=Kind.FAQ,
        content=entry.answer.encode(),
        title=" ".join(entry.question.split()),
        declared_type="text/markdown",
        external_id=entry.external_id,
        language=entry.language,
    )


@router.get("", summary="List FAQ entries", response_model=FaqPage, responses=ERRORS)
async def list_entries(
    principal: CurrentPrincipal,
    components: ComponentsDep,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
) -> FaqPage:
    """FAQ entries, newest first."""
    may_read(principal)
    after = cursors.decode(cursor) if cursor else None
    async with components.transaction(principal) as work:
        found = await work.documents.page(limit=limit + 1, after=after, kinds=(Kind.FAQ,))
        answers = await work.documents.with_sources(found[:limit])
    page = found[:limit]
    next_cursor = cursors.encode(page[-1].created_at, page[-1].id) if len(found) > limit else None
    return FaqPage(
        items=[FaqOut.of(d, answers.get(d.id, b"")) for d in page], next_cursor=next_cursor
    )


@router.post(
    "",
    summary="Add a FAQ entry",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=FaqOut,
    responses=ERRORS,
)
async def add_entry(body: FaqIn, principal: CurrentPrincipal, components: ComponentsDep) -> FaqOut:
    """Add a question and its answer (with an `external_id` already in use: replace that
    entry)."""
    may_write(principal)
    upload = _upload(FaqEntry(body.question, body.answer, body.external_id, body.language))
    checked = await documents.check(upload, components.settings)
    async with components.transaction(principal) as work:
        accepted = await documents.accept(
            work, upload, checked, documents.quotas_of(components.settings)
        )
    return FaqOut.of(accepted.document, body.answer)


@router.get("/{entry_id}", summary="Get a FAQ entry", response_model=FaqOut, responses=ERRORS)
async def get_entry(
    entry_id: EntryId, principal: CurrentPrincipal, components: ComponentsDep
) -> FaqOut:
    may_read(principal)
    async with components.transaction(principal) as work:
        document = await _entry(work, entry_id)
        answers = await work.documents.with_sources([document])
    return FaqOut.of(document, answers.get(document.id, b""))


@router.put(
    "/{entry_id}",
    summary="Edit a FAQ entry",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=FaqOut,
    responses=ERRORS,
)
async def edit_entry(
    entry_id: EntryId, body: FaqEditIn, principal: CurrentPrincipal, components: ComponentsDep
) -> FaqOut:
    """Change the question or answer: the new version replaces the old one in search as a
    whole once it is indexed."""
    may_write(principal)
    upload = _upload(FaqEntry(body.question, body.answer, None, body.language))
    checked = await documents.check(upload, components.settings)
    async with components.transaction(principal) as work:
        accepted = await documents.accept(
            work, upload, checked, documents.quotas_of(components.settings), replacing=entry_id
        )
    return FaqOut.of(accepted.document, body.answer)


@router.delete(
    "/{entry_id}",
    summary="Delete a FAQ entry",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=ERRORS,
)
async def delete_entry(
    entry_id: EntryId, principal: CurrentPrincipal, components: ComponentsDep
) -> Response:
    may_write(principal)
    async with components.transaction(principal) as work:
        await _entry(work, entry_id)
        await documents.delete(work, entry_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/import",
    summary="Import FAQ entries from CSV",
    response_model=ImportOut,
    responses={
        **ERRORS,
        413: {"description": "The file is larger than the limit"},
        415: {"description": "Not a CSV file"},
        422: {"description": "Rows that cannot be imported, each with its row and reason"},
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": ["file"],
                        "properties": {"file": {"type": "string", "format": "binary"}},
                    }
                },
            },
        }
    },
)
async def import_entries(
    request: Request, principal: CurrentPrincipal, components: ComponentsDep
) -> ImportOut:
    """A CSV whose first row names the columns: `question` and `answer`, optionally
    `external_id` and `language`. All rows are imported or none: a file with bad rows is
    refused with each row's number and reason. Entries without an external id are matched
    by their question, so importing the same file again updates rather than duplicates."""
    may_write(principal)
    settings = components.settings
    content = await _csv_body(request, settings.max_document_bytes)
    try:
        entries = parse_faq_csv(content)
    except FaqImportError as exc:
        raise UnreadableContent(
            str(exc), details=[{"row": p.row, "reason": p.reason} for p in exc.problems] or None
        ) from exc
    uploads = [
        _upload(
            FaqEntry(
                e.question, e.answer, e.external_id or imported_external_id(e.question), e.language
            )
        )
        for e in entries
    ]
    checked = [await documents.check(upload, settings) for upload in uploads]
    counts = {"created": 0, "updated": 0, "unchanged": 0}
    items: list[FaqOut] = []
    async with components.transaction(principal) as work:
        for upload, check in zip(uploads, checked, strict=True):
            accepted = await documents.accept(work, upload, check, documents.quotas_of(settings))
            kind = (
                "unchanged" if accepted.unchanged else "updated" if accepted.replaced else "created"
            )
            counts[kind] += 1
            items.append(FaqOut.of(accepted.document, upload.content))
    return ImportOut(**counts, items=items)


async def _csv_body(request: Request, max_bytes: int) -> bytes:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "multipart/form-data":
        async with request.form(max_files=1, max_fields=2) as form:
            file = form.get("file")
            if not isinstance(file, UploadFile):
                raise InvalidRequest("the form needs a `file` part with the CSV")
            content = await file.read(max_bytes + 1)
    elif content_type in ("text/csv", "text/plain", "application/csv"):
        content = b""
        async for piece in request.stream():
            content += piece
            if len(content) > max_bytes:
                break
    else:
        raise UnsupportedMediaType(
            "send the FAQ as text/csv, or as a `file` in multipart/form-data"
        )
    if len(content) > max_bytes:
        raise PayloadTooLarge(f"the file is larger than the limit of {max_bytes} bytes")
    return content
