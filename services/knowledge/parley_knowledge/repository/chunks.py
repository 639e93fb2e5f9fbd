"""Chunks, the tenant's vocabulary and text-search configurations: writing a document's
chunks, and the three rankings search fuses (full text, vectors) plus misspelling lookups.

Every query runs in a tenant transaction (row-level security) and also names the tenant, so
the planner uses the tenant-first indexes. The search statements (one search per customer
message) are plain SQL through `parley_platform.db.driver`, prepared once per connection, and
run in a plain snapshot (`Database.tenant_snapshot_transaction`); ingestion keeps SQLAlchemy
(its statements need a `Database.tenant_session`).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

import asyncpg
from parley_platform.db import driver
from sqlalchemy import text

from parley_knowledge.domain.chunking import HEADING_SEPARATOR


@dataclass(frozen=True)
class NewChunk:
    """A chunk to store (embedding optional)."""

    ordinal: int
    text: str
    heading_path: tuple[str, ...]
    page: int | None
    token_count: int
    embedding: Sequence[float] | None = None


@dataclass(frozen=True)
class FoundChunk:
    """A chunk as search returns it, with its document's facts."""

    id: UUID
    document_id: UUID
    document_title: str
    document_kind: str
    external_id: str | None
    source_uri: str | None
    language: str | None
    text: str
    heading_path: tuple[str, ...]
    page: int | None
    term_coverage: float

    @property
    def heading(self) -> str:
        return HEADING_SEPARATOR.join(self.heading_path)


@dataclass(frozen=True)
class TextRanking:
    """The full-text ranking of a query (chunk ids, best first), the query with its
    misspelled words corrected, and the details of the best few chunks."""

    chunk_ids: list[UUID]
    corrected: str
    details: dict[UUID, FoundChunk]


@dataclass(frozen=True)
class ChunkText:
    """A chunk's id and the text its embedding is computed from."""

    id: UUID
    text: str


def vector_literal(values: Sequence[float]) -> str:
    """pgvector's text form of a vector."""
    return "[" + ",".join(f"{v:.7g}" for v in values) + "]"


_INSERT_CHUNK = text(
    """
    INSERT INTO chunks (tenant_id, id, document_id, revision, ordinal, heading_path, text, page,
                        token_count, language_config, tsv, embedding, embedding_dims,
                        embedding_model)
    VALUES (:tenant_id, :id, :document_id, :revision, :ordinal, :heading_path, :text, :page,
            :token_count, CAST(:config AS text),
            setweight(to_tsvector(CAST(CAST(:config AS text) AS regconfig), :heading), 'A')
              || setweight(to_tsvector(CAST(CAST(:config AS text) AS regconfig), :context), 'B')
              || to_tsvector(CAST(CAST(:config AS text) AS regconfig), :text),
            CAST(:embedding AS vector), :embedding_dims, :embedding_model)
    """
)

# The rankings run in SECURITY DEFINER functions (migration 0003): under row-level security
# the full-text, trigram and vector operators could not use the tenant-first indexes. They
# take the tenant from the transaction's `app.tenant_id`, as the policies do.
#
# Full-text ranking, BM25-like: each query word counts by how rare it is among the tenant's
# chunks (BM25's idf, with document frequency and chunk count both counted up to 300:
# cheap, and beyond it a word is common anyway) times its ts_rank in the chunk (the
# section's heading weighs most, then upper headings and the title, then body text). Any
# word may match; chunks matching more, and rarer, words come first. Only words rarer than
# the cap pick candidates (unless every word is that common), which bounds the work for a
# question full of everyday words.
#
# A search's details of a chunk: its document's facts, and the share of the query's terms
# (`query`, with misspellings corrected) the chunk contains.
_DETAIL_COLUMNS = """
    c.id, c.document_id, d.title AS document_title, d.kind AS document_kind,
    d.external_id, d.source_uri, d.language, c.text, c.heading_path, c.page,
    coalesce((
        SELECT count(*) FILTER (WHERE l = ANY(tsvector_to_array(c.tsv)))::float
               / nullif(count(*), 0)
          FROM unnest(tsvector_to_array(
                   to_tsvector(CAST(c.language_config AS regconfig), {query}))) AS l
    ), 0) AS term_coverage
"""

# One statement (one round trip) for the text part of a search: the misspelled words ($2:
# the query words worth correcting) are looked up; the query's words ($1) followed by their
# corrections are ranked; the query with its misspellings corrected is returned with every
# row; and the details of the first $5 ranked chunks come with them. The first row always
# exists (with no chunk when nothing matched); ranked rows follow in rank order.
_FULL_TEXT = f"""
    WITH corrections AS MATERIALIZED (
        SELECT c.word, c.term, c.n
          FROM knowledge_misspellings($2::text[], $3::real) WITH ORDINALITY AS c(word, term, n)
    ), corrected AS MATERIALIZED (
        SELECT coalesce(string_agg(coalesce(c.term, w.word), ' ' ORDER BY w.n), '') AS query
          FROM unnest($1::text[]) WITH ORDINALITY AS w(word, n)
          LEFT JOIN corrections c ON c.word = w.word
    ), ranking AS MATERIALIZED (
        SELECT r.chunk_id, r.n
          FROM knowledge_full_text_ranking(
                   $1::text[] || ARRAY(SELECT term FROM corrections ORDER BY n),
                   $4::integer) WITH ORDINALITY AS r(chunk_id, score, n)
    ), found AS MATERIALIZED (
        -- By primary key (an id list, as `_DETAILS`): only the first few chunks are read.
        SELECT {_DETAIL_COLUMNS.format(query="q.query")}
          FROM corrected q, chunks c
          JOIN documents d ON d.tenant_id = c.tenant_id AND d.id = c.document_id
         WHERE c.tenant_id = $6
           AND c.id = ANY(ARRAY(SELECT chunk_id FROM ranking WHERE n <= $5))
    )
    SELECT q.query AS corrected, r.chunk_id, found.*
      FROM corrected q
      LEFT JOIN ranking r ON true
      LEFT JOIN found ON found.id = r.chunk_id
     ORDER BY r.n NULLS FIRST
"""  # noqa: S608 - only constant fragments are formatted in; every value is a parameter
_VECTORS = (
    "SELECT chunk_id, similarity FROM knowledge_vector_ranking("
    "$1::text, $2::integer, $3::text, $4::integer, $5::double precision)"
)

_DETAILS = f"""
    SELECT {_DETAIL_COLUMNS.format(query="$3::text")}
      FROM chunks c
      JOIN documents d ON d.tenant_id = c.tenant_id AND d.id = c.document_id
     WHERE c.tenant_id = $1 AND c.id = ANY($2::uuid[])
"""  # noqa: S608 - only constant fragments are formatted in; every value is a parameter


class ChunkRepository:
    """Chunks of one tenant (the transaction's): searches in a plain transaction or a session,
    writes in a session."""

    def __init__(self, session: driver.SqlSession, tenant_id: UUID) -> None:
        self._session = session
        self._tenant_id = tenant_id

    async def replace_document_chunks(
        self,
        document_id: UUID,
        revision: int,
        title: str,
        language_config: str,
        chunks: Sequence[NewChunk],
        embedding_model: str | None,
    ) -> None:
        """Make `chunks` the document's only chunks (in this transaction: a search sees the
        previous chunks or these, never a mix)."""
        session = driver.sqlalchemy_session(self._session)
        await session.execute(
            text("DELETE FROM chunks WHERE tenant_id = :tenant_id AND document_id = :document_id"),
            {"tenant_id": self._tenant_id, "document_id": document_id},
        )
        if not chunks:
            return
        await session.execute(
            text(
                "INSERT INTO search_configs (tenant_id, config) VALUES (:tenant_id, :config) "
                "ON CONFLICT DO NOTHING"
            ),
            {"tenant_id": self._tenant_id, "config": language_config},
        )
        await session.execute(
            _INSERT_CHUNK,
            [
                {
                    "tenant_id": self._tenant_id,
                    "id": uuid.uuid4(),
                    "document_id": document_id,
                    "revision": revision,
                    "ordinal": chunk.ordinal,
                    "heading_path": list(chunk.heading_path),
                    # The section's own heading weighs most; the headings above it and the
                    # document's title (shared by all its chunks) weigh less.
                    "heading": chunk.heading_path[-1] if chunk.heading_path else "",
                    "context": " ".join([title, *chunk.heading_path[:-1]]),
                    "text": chunk.text,
                    "page": chunk.page,
                    "token_count": chunk.token_count,
                    "config": language_config,
                    "embedding": vector_literal(chunk.embedding) if chunk.embedding else None,
                    "embedding_dims": len(chunk.embedding) if chunk.embedding else None,
                    "embedding_model": embedding_model if chunk.embedding else None,
                }
                for chunk in chunks
            ],
        )

    async def add_terms(self, words: set[str]) -> None:
        """Remember words the tenant's documents contain (misspelled query words are
        corrected to them)."""
        if not words:
            return
        await driver.sqlalchemy_session(self._session).execute(
            text(
                "INSERT INTO terms (tenant_id, term) "
                "SELECT :tenant_id, unnest(CAST(:terms AS text[])) ON CONFLICT DO NOTHING"
            ),
            {"tenant_id": self._tenant_id, "terms": sorted(words)},
        )

    async def texts_of(self, document_id: UUID) -> list[ChunkText]:
        rows = await driver.sqlalchemy_session(self._session).execute(
            text(
                "SELECT id, array_to_string(heading_path, ' > ') AS heading, text FROM chunks "
                "WHERE tenant_id = :tenant_id AND document_id = :document_id ORDER BY ordinal"
            ),
            {"tenant_id": self._tenant_id, "document_id": document_id},
        )
        return [ChunkText(r.id, f"{r.heading}\n{r.text}" if r.heading else r.text) for r in rows]

    async def set_embeddings(
        self, embeddings: Sequence[tuple[UUID, Sequence[float]]], model: str
    ) -> None:
        await driver.sqlalchemy_session(self._session).execute(
            text(
                "UPDATE chunks SET embedding = CAST(:embedding AS vector), "
                "embedding_dims = :dims, embedding_model = :model "
                "WHERE tenant_id = :tenant_id AND id = :id"
            ),
            [
                {
                    "tenant_id": self._tenant_id,
                    "id": chunk_id,
                    "embedding": vector_literal(vector),
                    "dims": len(vector),
                    "model": model,
                }
                for chunk_id, vector in embeddings
            ],
        )

    # ------------------------------------------------------------------ search

    async def full_text_ranking(
        self,
        words: Sequence[str],
        correctable: Sequence[str],
        *,
        min_similarity: float,
        limit: int,
        details_of_first: int,
    ) -> TextRanking:
        """Chunk ids matching any of `words`, best first (see `_FULL_TEXT`), in each
        text-search configuration the tenant's chunks use; each of `correctable` the
        tenant's documents do not contain is also searched as the most similar word they do
        contain (trigram similarity at least `min_similarity`). With the details of the
        first `details_of_first` chunks, as `details` gives them."""
        rows = await driver.fetch_all(
            self._session,
            _FULL_TEXT,
            list(words),
            list(correctable),
            min_similarity,
            limit,
            details_of_first,
            self._tenant_id,
        )
        return TextRanking(
            [r["chunk_id"] for r in rows if r["chunk_id"] is not None],
            rows[0]["corrected"],
            {r["id"]: _found(r) for r in rows if r["id"] is not None},
        )

    async def vector_ranking(
        self, embedding: Sequence[float], model: str, limit: int, min_similarity: float
    ) -> list[tuple[UUID, float]]:
        """Chunk ids by cosine similarity to `embedding` (of `model`), best first, at least
        `min_similarity`."""
        rows = await driver.fetch_all(
            self._session,
            _VECTORS,
            vector_literal(embedding),
            len(embedding),
            model,
            limit,
            min_similarity,
        )
        found = [(r["chunk_id"], float(r["similarity"])) for r in rows]
        found.sort(key=lambda pair: pair[1], reverse=True)  # relaxed order: re-sort
        return found

    async def details(self, ids: Sequence[UUID], query: str) -> dict[UUID, FoundChunk]:
        """The chunks `ids` with their documents' facts and how much of `query` each
        contains."""
        if not ids:
            return {}
        rows = await driver.fetch_all(self._session, _DETAILS, self._tenant_id, list(ids), query)
        return {r["id"]: _found(r) for r in rows}


def _found(row: asyncpg.Record) -> FoundChunk:
    return FoundChunk(
        id=row["id"],
        document_id=row["document_id"],
        document_title=row["document_title"],
        document_kind=row["document_kind"],
        external_id=row["external_id"],
        source_uri=row["source_uri"],
        language=row["language"],
        text=row["text"],
        heading_path=tuple(row["heading_path"] or ()),
        page=row["page"],
        term_coverage=float(row["term_coverage"]),
    )
