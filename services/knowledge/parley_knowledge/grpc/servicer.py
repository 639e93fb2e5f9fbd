"""KnowledgeService over gRPC: retrieval for the ai service.

The platform's server authenticates the calling service; `ALLOWED_CALLERS` admits only
`ai`. The tenant comes from the call's verified metadata, never from the request, so a
request cannot reach another tenant's chunks.
"""

from __future__ import annotations

import time

import grpc
from parley.knowledge.v1 import knowledge_pb2, knowledge_pb2_grpc
from parley_platform.context import current_tenant
from parley_platform.errors import InvalidRequest

from parley_knowledge import metrics
from parley_knowledge.service.search import Searcher

SERVICE_NAME = knowledge_pb2.DESCRIPTOR.services_by_name["KnowledgeService"].full_name
ALLOWED_CALLERS: dict[str, set[str]] = {f"/{SERVICE_NAME}/Search": {"ai"}}


class KnowledgeServicer(knowledge_pb2_grpc.KnowledgeServiceServicer):
    """Translates between protobuf and the search use case."""

    def __init__(self, searcher: Searcher) -> None:
        self._searcher = searcher

    def register(self, server: grpc.aio.Server) -> None:
        knowledge_pb2_grpc.add_KnowledgeServiceServicer_to_server(self, server)

    async def Search(
        self, request: knowledge_pb2.SearchRequest, context: grpc.aio.ServicerContext
    ) -> knowledge_pb2.SearchResponse:
        tenant = current_tenant()
        if tenant is None:
            raise InvalidRequest("this call needs the caller's tenant in its metadata")
        if not 0 <= request.min_score <= 1:
            raise InvalidRequest("min_score must be between 0 and 1")
        started = time.perf_counter()
        results = await self._searcher.search(
            tenant, request.query, request.top_k, request.min_score
        )
        metrics.SEARCH_SECONDS.labels("grpc").observe(time.perf_counter() - started)
        return knowledge_pb2.SearchResponse(
            chunks=[
                knowledge_pb2.Chunk(
                    chunk_id=str(r.chunk.id),
                    document_id=str(r.chunk.document_id),
                    document_title=r.chunk.document_title,
                    text=r.chunk.text,
                    score=r.score,
                    heading=r.chunk.heading,
                    source_uri=r.chunk.source_uri or "",
                    page=r.chunk.page or 0,
                    language=r.chunk.language or "",
                    document_external_id=r.chunk.external_id or "",
                    heading_path=list(r.chunk.heading_path),
                    term_coverage=r.chunk.term_coverage,
                    vector_similarity=r.vector_similarity,
                    document_kind=r.chunk.document_kind,
                )
                for r in results
            ]
        )
