"""What the routes need from the running service, as FastAPI dependencies."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends
from parley_platform.db import Database
from parley_platform.http import component_dependency
from parley_platform.identity import Principal, Role

from parley_knowledge.config import Settings
from parley_knowledge.service.search import Searcher
from parley_knowledge.service.work import Work, tenant_work

# Permissions shared with auth's role table: agents read and search, admins change.
READ_SCOPE = "documents:read"
WRITE_SCOPE = "documents:write"


def may_read(principal: Principal) -> None:
    """Any member of the tenant may read and search; API keys need `documents:read`."""
    principal.require_scope(READ_SCOPE)


def may_write(principal: Principal) -> None:
    """Admins and owners change the knowledge base; API keys need `documents:write`."""
    principal.require_role(Role.ADMIN)
    principal.require_scope(WRITE_SCOPE)


@dataclass(frozen=True)
class Components:
    """The running service's database, settings and searcher (built by `main.wire`)."""

    database: Database
    settings: Settings
    searcher: Searcher

    @asynccontextmanager
    async def transaction(self, principal: Principal) -> AsyncIterator[Work]:
        """A transaction of the principal's tenant with its repositories; the events it
        emits are committed with it."""
        async with tenant_work(self.database, principal.tenant_id) as work:
            yield work


ComponentsDep = Annotated[Components, Depends(component_dependency(Components))]
