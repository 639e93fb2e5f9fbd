"""Search: what the AI gets for a customer's question, and what the business sees when it
tries a query.

Two rankings are fused with reciprocal rank fusion:
- full text, in each PostgreSQL text-search configuration the tenant's documents use; any
  of the query's words may match (OR), so a question phrased unlike the document still
  finds it, and ts_rank favours chunks that match more of them, headings and titles above
  body text. Query words the tenant's documents never contain are also searched as the
  most similar word they do contain (pg_trgm), which catches misspellings;
- vectors (pgvector, cosine), when an embedding provider is configured and the query's
  embedding can be computed; otherwise full text alone.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from uuid import UUID

from parley_platform.cache import TtlCache
from parley_platform.db import Database
from parley_platform.errors import InvalidRequest

from parley_knowledge.config import Settings
from parley_knowledge.domain.ranking import query_words, reciprocal_rank_fusion
from parley_knowledge.repository.chunks import ChunkRepository, FoundChunk
from parley_knowledge.service.embeddings import EmbeddingClient, EmbeddingUnavailable

log = logging.getLogger(__name__)

DEFAULT_TOP_K = 5
MAX_TOP_K = 50
MAX_QUERY_CHARS = 2_000
QUERY_EMBEDDING_TTL_S = 600.0


@dataclass(frozen=True)
class SearchResult:
    """A chunk found for a query, with its fused score and the rankings' own measures."""

    chunk: FoundChunk
    score: float
    vector_similarity: float


class Searcher:
    """Searches one tenant's chunks at a time."""

    def __init__(
        self, database: Database, settings: Settings, embedder: EmbeddingClient | None
    ) -> None:
        self._database = database
        self._settings = settings
        self._embedder = embedder
        self._query_vectors: TtlCache[str, list[float]] = TtlCache(
            ttl_s=QUERY_EMBEDDING_TTL_S, negative_ttl_s=0.0, max_entries=10_000
        )

    async def search(
        self, tenant_id: UUID, query: str, top_k: int = 0, min_score: float = 0.0
    ) -> list[SearchResult]:
        """The best `top_k` chunks of `tenant_id` for `query` with a score of at least
        `min_score`, best first."""
        query = " ".join(query.split())
        if not query:
            raise InvalidRequest("the query is empty")
        if len(query) > MAX_QUERY_CHARS:
            raise InvalidRequest(f"the query is longer than {MAX_QUERY_CHARS} characters")
        if top_k < 0 or top_k > MAX_TOP_K:
            raise InvalidRequest(f"top_k must be between 1 and {MAX_TOP_K}")
        top_k = top_k or DEFAULT_TOP_K
        s = self._settings
        query_vector = await self._query_embedding(query)
        # One snapshot for every query of the search: the rankings and the chunks' details
        # agree even while a document is being replaced. Its statements are all plain SQL,
        # so it is a plain transaction: none of the session machinery on every search.
        async with self._database.tenant_snapshot_transaction(tenant_id) as session:
            chunks = ChunkRepository(session, tenant_id)
            words = query_words(query)
            correctable = [w for w in words if len(w) >= s.typo_min_word_length and not w.isdigit()]
            # Full text only, the best `top_k` of this ranking are the answer: their details
            # come with it, and the search is one statement.
            text_ranking = await chunks.full_text_ranking(
                words,
                correctable,
                min_similarity=s.typo_min_similarity,
                limit=s.search_candidates,
                details_of_first=top_k,
            )
            rankings: list[list[UUID]] = [text_ranking.chunk_ids]
            similarities: dict[UUID, float] = {}
            if query_vector is not None and self._embedder is not None:
                nearest = await chunks.vector_ranking(
                    query_vector,
                    self._embedder.model,
                    # Fusion needs the nearest few, not many: each more costs graph reads.
                    min(s.search_candidates, max(2 * top_k, 20)),
                    s.vector_min_similarity,
                )
                similarities = dict(nearest)
                rankings.append([chunk_id for chunk_id, _ in nearest])
            fused = [
                (chunk_id, score)
                for chunk_id, score in reciprocal_rank_fusion(rankings, s.rrf_k)
                if score >= min_score
            ][:top_k]
            details = text_ranking.details
            if missing := [chunk_id for chunk_id, _ in fused if chunk_id not in details]:
                details = {**details, **await chunks.details(missing, text_ranking.corrected)}
        return [
            SearchResult(details[chunk_id], score, similarities.get(chunk_id, 0.0))
            for chunk_id, score in fused
            if chunk_id in details
        ]

    async def _query_embedding(self, query: str) -> list[float] | None:
        if self._embedder is None:
            return None
        embedder = self._embedder

        async def compute() -> list[float] | None:
            try:
                return (await embedder.embed([query]))[0]
            except EmbeddingUnavailable as exc:
                log.warning("searching full text only", extra={"reason": str(exc)})
                return None

        # Customers ask the same questions again and again: their embeddings are kept a
        # while (a failure is not kept: the next search asks the provider again).
        return await self._query_vectors.get(query, compute)
