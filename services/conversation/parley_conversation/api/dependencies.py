"""What the routes need from the running service, as FastAPI dependencies."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends
from parley_platform.db import Database
from parley_platform.http import component_dependency
from parley_platform.identity import Principal
from sqlalchemy.ext.asyncio import AsyncSession

from parley_conversation.events.live import LiveFeed
from parley_conversation.service.directory import Directory
from parley_conversation.service.work import Work, conversation_work

# API-key scopes (users are governed by their role and the visibility rule instead).
READ_SCOPE = "conversations:read"
WRITE_SCOPE = "conversations:write"
CONTACTS_READ_SCOPE = "contacts:read"
# The knowledge service's read scope: its document changes ride on the live stream.
DOCUMENTS_READ_SCOPE = "documents:read"


@dataclass(frozen=True)
class Services:
    """The running service's database, user directory and live feed (built by
    `main.wire`)."""

    database: Database
    directory: Directory
    live_feed: LiveFeed

    @asynccontextmanager
    async def reading(self, principal: Principal) -> AsyncIterator[AsyncSession]:
        """A read transaction of the principal's tenant."""
        async with self.database.tenant_session(principal.tenant_id) as session:
            yield session

    @asynccontextmanager
    async def changing(self, principal: Principal) -> AsyncIterator[Work]:
        """A transaction of the principal's tenant that changes conversations; its events
        are committed with it."""
        async with (
            self.database.tenant_session(principal.tenant_id) as session,
            conversation_work(session, principal.tenant_id) as work,
        ):
            yield work


ServicesDep = Annotated[Services, Depends(component_dependency(Services))]
