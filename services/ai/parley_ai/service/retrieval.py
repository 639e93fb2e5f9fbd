"""Searching the tenant's knowledge base over gRPC (KnowledgeService.Search).

The tenant is never named in the request: the channel forwards the verified tenant of the
current context (the event's), and the knowledge service searches only that tenant's
documents. A knowledge service that does not answer is asked again a few times within a
short bound; after that the caller hands the conversation to a person rather than leaving
the customer without a reply.
"""

from __future__ import annotations

import logging

import grpc
from parley.knowledge.v1 import knowledge_pb2, knowledge_pb2_grpc
from tenacity import (
    AsyncRetrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential_jitter,
)

from parley_ai.domain.decision import Passage

log = logging.getLogger(__name__)


class KnowledgeUnavailable(Exception):
    """The knowledge service could not be searched."""


_TRANSIENT = frozenset(
    {
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.DEADLINE_EXCEEDED,
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        grpc.StatusCode.ABORTED,
        grpc.StatusCode.INTERNAL,
        grpc.StatusCode.UNKNOWN,
    }
)


class _Transient(Exception):
    pass


class KnowledgeSearch:
    """Retrieval for the current tenant."""

    def __init__(self, channel: grpc.aio.Channel, *, timeout_s: float, attempts: int) -> None:
        self._stub = knowledge_pb2_grpc.KnowledgeServiceStub(channel)
        self._timeout_s = timeout_s
        self._attempts = attempts

    async def _search_once(self, query: str, top_k: int) -> list[Passage]:
        try:
            response = await self._stub.Search(
                knowledge_pb2.SearchRequest(query=query, top_k=top_k),
                timeout=self._timeout_s,
            )
        except grpc.aio.AioRpcError as error:
            if error.code() in _TRANSIENT:
                raise _Transient(error.code().name) from error
            raise KnowledgeUnavailable(f"knowledge search refused: {error.code().name}") from error
        return [
            Passage(
                chunk_id=c.chunk_id,
                document_id=c.document_id,
                title=c.document_title,
                text=c.text,
                score=c.score,
                heading=c.heading,
                source_uri=c.source_uri,
            )
            for c in response.chunks
            if c.text.strip()
        ]

    async def search(self, query: str, top_k: int) -> list[Passage]:
        """The tenant's best passages for `query`, best first."""
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self._attempts),
            wait=wait_exponential_jitter(multiplier=0.1, max=1.0, jitter=0.1),
            retry=retry_if_exception_type(_Transient),
            reraise=True,
        )
        try:
            return await retrying(self._search_once, query, top_k)
        except _Transient as error:
            log.warning("knowledge search failed", extra={"error": str(error)})
            raise KnowledgeUnavailable(f"knowledge search failed: {error}") from error
