"""One transaction's worth of knowledge work: the repositories bound to the session's
tenant, and the events to stage in the outbox with the transaction.

Use cases never commit: whoever opened the tenant session (a route, an event handler) owns
the transaction, and `knowledge_work` stages the emitted events inside it, so state and
events are committed together or not at all.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from uuid import UUID

from parley_platform.db import Database
from parley_platform.events import OutgoingEvent, add_to_outbox
from sqlalchemy.ext.asyncio import AsyncSession

from parley_knowledge.events.outgoing import document_changed
from parley_knowledge.repository.chunks import ChunkRepository
from parley_knowledge.repository.documents import Document, DocumentRepository
from parley_knowledge.repository.preferences import PreferenceRepository
from parley_knowledge.repository.websites import WebsiteRepository


class Work:
    """Repositories and pending events of one tenant transaction."""

    def __init__(self, session: AsyncSession, tenant_id: UUID) -> None:
        self.session = session
        self.tenant_id = tenant_id
        self.documents = DocumentRepository(session, tenant_id)
        self.chunks = ChunkRepository(session, tenant_id)
        self.websites = WebsiteRepository(session, tenant_id)
        self.preferences = PreferenceRepository(session, tenant_id)
        self._events: list[OutgoingEvent] = []

    def emit(self, *events: OutgoingEvent) -> None:
        """Publish `events` if (and only if) this transaction commits."""
        self._events.extend(events)

    def document_changed(self, document: Document, *, deleted: bool = False) -> None:
        """Tell dashboards about the document's new state."""
        self.emit(document_changed(self.tenant_id, document, deleted=deleted))

    async def stage_events(self) -> None:
        await add_to_outbox(self.session, *self._events)
        self._events.clear()


@asynccontextmanager
async def tenant_work(database: Database, tenant_id: UUID) -> AsyncIterator[Work]:
    """A transaction of `tenant_id` (committed when the block ends without an error) with
    its work and events."""
    async with (
        database.tenant_session(tenant_id) as session,
        knowledge_work(session, tenant_id) as work,
    ):
        yield work


@asynccontextmanager
async def knowledge_work(session: AsyncSession, tenant_id: UUID) -> AsyncIterator[Work]:
    """Work in `session` (a tenant transaction); its events are staged when the block ends
    without an error."""
    work = Work(session, tenant_id)
    yield work
    await work.stage_events()
