"""Documents: upload (a file, or JSON text), list with their state, get, delete.

Routes are thin: they check the principal's permission, open the tenant transaction and
call a use case in `service/`. An upload is answered 202 as soon as it is stored and queued:
extraction and indexing run in the ingestion pipeline, and the document's `state` shows
where it is.
"""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Path, Query, Request, Response, status
from parley_platform.errors import InvalidRequest, NotFound, PayloadTooLarge
from parley_platform.http.internal import CurrentPrincipal
from pydantic import ValidationError
from starlette.datastructures import UploadFile

from parley_knowledge.api import cursors
from parley_knowledge.api.dependencies import ComponentsDep, may_read, may_write
from parley_knowledge.api.schemas import DocumentOut, DocumentPage, TextDocumentIn
from parley_knowledge.domain.documents import Kind, State
from parley_knowledge.domain.languages import is_language_code
from parley_knowledge.errors import UnsupportedMediaType
from parley_knowledge.service import documents
from parley_knowledge.service.documents import Upload

router = APIRouter(prefix="/api/v1/knowledge/documents", tags=["knowledge"])

DocumentId = Annotated[UUID, Path(description="The document")]
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Not called through the gateway with a valid credential"},
    403: {"description": "Not allowed (role or API-key scope)"},
    404: {"description": "No such document in your knowledge base"},
}
UPLOAD_ERRORS: dict[int | str, dict[str, Any]] = {
    **ERRORS,
    403: {"description": "Not allowed, or a quota (documents, bytes, pages) would be exceeded"},
    413: {"description": "The document is larger than the limit"},
    415: {"description": "Not a supported kind of file"},
    422: {"description": "Unreadable (damaged, password-protected or empty), with the reason"},
}
_MULTIPART_FIELDS = {"file", "title", "external_id", "language"}

UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": TextDocumentIn.model_json_schema()},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {
                            "type": "string",
                            "format": "binary",
                            "description": "Plain text, Markdown, HTML, PDF or DOCX",
                        },
                        "title": {"type": "string", "maxLength": 300},
                        "external_id": {"type": "string", "maxLength": 200},
                        "language": {"type": "string", "minLength": 2, "maxLength": 2},
                    },
                }
            },
        },
    }
}


async def _upload_from(request: Request, max_bytes: int) -> Upload:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "application/json":
        try:
            body = TextDocumentIn.model_validate_json(await request.body())
        except ValidationError as exc:
            raise InvalidRequest(
                "the request is not valid",
                details=[
                    {"field": ".".join(str(p) for p in e["loc"]), "reason": e["msg"]}
                    for e in exc.errors()
                ],
            ) from None
        return Upload(
            kind=Kind.TEXT,
            content=body.text.encode(),
            title=body.title,
            declared_type="text/markdown",
            external_id=body.external_id,
            language=body.language,
        )
    if content_type != "multipart/form-data":
        raise UnsupportedMediaType(
            "send the document as multipart/form-data (a file) or as application/json "
            "({title, text})"
        )
    async with request.form(max_files=1, max_fields=10) as form:
        unknown = set(form.keys()) - _MULTIPART_FIELDS
        if unknown:
            raise InvalidRequest(f"unknown form fields: {', '.join(sorted(unknown))}")
        file = form.get("file")
        if not isinstance(file, UploadFile):
            raise InvalidRequest("the form needs a `file` part with the document")
        content = await file.read(max_bytes + 1)
        if len(content) > max_bytes:
            raise PayloadTooLarge(f"the document is larger than the limit of {max_bytes} bytes")
        title = _text_field(form.get("title"), "title", 300)
        external_id = _text_field(form.get("external_id"), "external_id", 200)
        language = _text_field(form.get("language"), "language", 2)
        if language is not None and not is_language_code(language):
            raise InvalidRequest("language must be a lowercase ISO 639-1 code such as `en`")
        return Upload(
            kind=Kind.FILE,
            content=content,
            title=" ".join(title.split()) if title else None,
            declared_type=file.content_type,
            filename=(file.filename or "").rsplit("/", 1)[-1][:255] or None,
            external_id=external_id,
            language=language,
        )


def _text_field(value: object, name: str, max_length: int) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise InvalidRequest(f"`{name}` must be a text field")
    if len(value) > max_length:
        raise InvalidRequest(f"`{name}` is longer than {max_length} characters")
    return value


@router.post(
    "",
    summary="Add a document (a file, or JSON text)",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=DocumentOut,
    responses={
        200: {"description": "The same content was already stored: nothing changed"},
        **UPLOAD_ERRORS,
    },
    openapi_extra=UPLOAD_BODY,
)
async def add_document(
    request: Request, response: Response, principal: CurrentPrincipal, components: ComponentsDep
) -> DocumentOut:
    """Upload a file (multipart/form-data: `file`, and optionally `title`, `external_id`,
    `language`) or send JSON `{title, text, external_id?, language?}`.

    The document is stored and queued at once (202); its `state` goes queued → processing →
    ready (or failed, with a reason). With an `external_id` already in use, this is a new
    version of that document: searches keep finding the previous version until the new one
    is ready, then find only the new one."""
    may_write(principal)
    settings = components.settings
    upload = await _upload_from(request, settings.max_document_bytes)
    checked = await documents.check(upload, settings)
    async with components.transaction(principal) as work:
        accepted = await documents.accept(work, upload, checked, documents.quotas_of(settings))
    if accepted.unchanged:
        response.status_code = status.HTTP_200_OK
    response.headers["Location"] = f"/api/v1/knowledge/documents/{accepted.document.id}"
    return DocumentOut.of(accepted.document)


@router.get("", summary="List documents", response_model=DocumentPage, responses=ERRORS)
async def list_documents(
    principal: CurrentPrincipal,
    components: ComponentsDep,
    state: Annotated[list[State] | None, Query(description="Any of these states")] = None,
    kind: Annotated[list[Kind] | None, Query(description="Any of these kinds")] = None,
    website_id: Annotated[UUID | None, Query(description="Pages of this website")] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 25,
) -> DocumentPage:
    """The knowledge base's documents, newest first, with their state, page and chunk
    counts."""
    may_read(principal)
    after = cursors.decode(cursor) if cursor else None
    async with components.transaction(principal) as work:
        found = await work.documents.page(
            limit=limit + 1,
            after=after,
            kinds=tuple(kind or ()),
            states=tuple(state or ()),
            website_id=website_id,
        )
    page = found[:limit]
    next_cursor = cursors.encode(page[-1].created_at, page[-1].id) if len(found) > limit else None
    return DocumentPage(items=[DocumentOut.of(d) for d in page], next_cursor=next_cursor)


@router.get(
    "/{document_id}", summary="Get a document", response_model=DocumentOut, responses=ERRORS
)
async def get_document(
    document_id: DocumentId, principal: CurrentPrincipal, components: ComponentsDep
) -> DocumentOut:
    may_read(principal)
    async with components.transaction(principal) as work:
        document = await work.documents.get(document_id)
    if document is None:
        raise NotFound("no such document")
    return DocumentOut.of(document)


@router.delete(
    "/{document_id}",
    summary="Delete a document",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=ERRORS,
)
async def delete_document(
    document_id: DocumentId, principal: CurrentPrincipal, components: ComponentsDep
) -> Response:
    """Delete the document: its chunks leave search at once."""
    may_write(principal)
    async with components.transaction(principal) as work:
        await documents.delete(work, document_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
