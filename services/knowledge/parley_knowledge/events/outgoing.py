"""Events the knowledge service emits: its pipeline's work items and document changes."""

from __future__ import annotations

from uuid import UUID

from parley.knowledge.v1 import events_pb2 as pb
from parley_platform.events import OutgoingEvent, timestamp
from parley_platform.events.topics import (
    KNOWLEDGE_CRAWL_REQUESTED,
    KNOWLEDGE_DOCUMENT_CHANGED,
    KNOWLEDGE_INGEST_REQUESTED,
)

from parley_knowledge.domain.documents import State
from parley_knowledge.repository.documents import Document

_STATES = {
    State.QUEUED: pb.DOCUMENT_STATE_QUEUED,
    State.PROCESSING: pb.DOCUMENT_STATE_PROCESSING,
    State.READY: pb.DOCUMENT_STATE_READY,
    State.FAILED: pb.DOCUMENT_STATE_FAILED,
}


def document_changed(
    tenant_id: UUID, document: Document, *, deleted: bool = False
) -> OutgoingEvent:
    """`knowledge.document-changed.v1` for `document` as it is now (or was, when deleted)."""
    payload = pb.DocumentChanged(
        document_id=str(document.id),
        state=pb.DOCUMENT_STATE_DELETED if deleted else _STATES[document.state],
        title=document.title,
        kind=document.kind.value,
        external_id=document.external_id or "",
        failure_reason=document.failure_reason or "",
        revision=document.revision,
        page_count=document.page_count,
        chunk_count=document.chunk_count,
        website_id=str(document.website_id) if document.website_id else "",
        changed_at=timestamp(document.updated_at),
    )
    return OutgoingEvent(
        topic=KNOWLEDGE_DOCUMENT_CHANGED,
        key=str(document.id),
        payload=payload,
        tenant_id=tenant_id,
    )


def ingest_requested(tenant_id: UUID, document: Document) -> OutgoingEvent:
    """Ask the pipeline to process the document's latest revision."""
    return OutgoingEvent(
        topic=KNOWLEDGE_INGEST_REQUESTED,
        key=str(document.id),
        payload=pb.IngestRequested(document_id=str(document.id), revision=document.revision),
        tenant_id=tenant_id,
    )


def crawl_requested(tenant_id: UUID, website_id: UUID, crawl: int) -> OutgoingEvent:
    """Ask the crawler to import the website (crawl number `crawl`)."""
    return OutgoingEvent(
        topic=KNOWLEDGE_CRAWL_REQUESTED,
        key=str(website_id),
        payload=pb.CrawlRequested(website_id=str(website_id), crawl=crawl),
        tenant_id=tenant_id,
    )
