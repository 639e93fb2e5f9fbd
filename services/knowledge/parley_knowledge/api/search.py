"""Try a query: the chunks, scores, headings and sources the AI would get."""

from __future__ import annotations

import time

from fastapi import APIRouter
from parley_platform.http.internal import CurrentPrincipal

from parley_knowledge import metrics
from parley_knowledge.api.dependencies import ComponentsDep, may_read
from parley_knowledge.api.schemas import ChunkOut, SearchIn, SearchOut

router = APIRouter(prefix="/api/v1/knowledge", tags=["knowledge"])


@router.post("/search", summary="Search the knowledge base", response_model=SearchOut)
async def search(
    body: SearchIn, principal: CurrentPrincipal, components: ComponentsDep
) -> SearchOut:
    """Exactly what `KnowledgeService.Search` gives the AI for this query: the best chunks
    of your knowledge base, best first."""
    may_read(principal)
    started = time.perf_counter()
    results = await components.searcher.search(
        principal.tenant_id, body.query, body.top_k, body.min_score
    )
    metrics.SEARCH_SECONDS.labels("rest").observe(time.perf_counter() - started)
    return SearchOut(results=[ChunkOut.of(r) for r in results])
