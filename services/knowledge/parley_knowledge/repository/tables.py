"""The service's tables as SQLAlchemy Core sees them (the schema itself is built by the
migrations in ../migrations; these definitions must match them)."""

from __future__ import annotations

from parley_platform.db.columns import tenant_id_column, timestamp_column
from parley_platform.events.schema import declare_event_tables
from pgvector.sqlalchemy import HALFVEC, Vector
from sqlalchemy import (
    BigInteger,
    Column,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Table,
    Text,
    UniqueConstraint,
    Uuid,
    cast,
)
from sqlalchemy.dialects.postgresql import ARRAY, TSVECTOR

metadata = MetaData()
declare_event_tables(metadata)

# Embedding sizes with an HNSW index (partial expression indexes, one per size, built by the
# migration); vectors of other sizes are searched exactly.
INDEXED_EMBEDDING_DIMENSIONS = (256, 384, 512, 768, 1024, 1536, 3072)

preferences = Table(
    "preferences",
    metadata,
    tenant_id_column(),
    Column("default_language", Text, nullable=False),
    timestamp_column("updated_at", nullable=False),
)

websites = Table(
    "websites",
    metadata,
    tenant_id_column(),
    Column("id", Uuid, primary_key=True),
    Column("start_url", Text, nullable=False),
    Column("page_limit", Integer, nullable=False),
    Column("state", Text, nullable=False),
    Column("failure_reason", Text),
    Column("crawl", BigInteger, nullable=False),
    Column("pages_found", Integer, nullable=False),
    Column("pages_changed", Integer, nullable=False),
    Column("pages_removed", Integer, nullable=False),
    Column("pages_skipped", Integer, nullable=False),
    timestamp_column("crawl_started_at"),
    timestamp_column("crawl_finished_at"),
    timestamp_column("created_at", nullable=False),
    timestamp_column("updated_at", nullable=False),
    UniqueConstraint("tenant_id", "start_url", name="websites_one_per_start_url"),
)

documents = Table(
    "documents",
    metadata,
    tenant_id_column(),
    Column("id", Uuid, primary_key=True),
    Column("kind", Text, nullable=False),
    Column("title", Text, nullable=False),
    Column("external_id", Text),
    Column("source_uri", Text),
    Column("media_type", Text, nullable=False),
    Column("language", Text),
    Column("state", Text, nullable=False),
    Column("failure_reason", Text),
    Column("revision", Integer, nullable=False),
    Column("live_revision", Integer),
    Column("byte_size", BigInteger, nullable=False),
    Column("page_count", Integer, nullable=False),
    Column("chunk_count", Integer, nullable=False),
    Column("content_hash", Text, nullable=False),
    Column("website_id", Uuid),
    Column("embedding_model", Text),
    timestamp_column("created_at", nullable=False),
    timestamp_column("updated_at", nullable=False),
    timestamp_column("indexed_at"),
    UniqueConstraint("tenant_id", "external_id", name="documents_one_per_external_id"),
    ForeignKeyConstraint(
        ["tenant_id", "website_id"], ["websites.tenant_id", "websites.id"], ondelete="CASCADE"
    ),
    Index("documents_website", "tenant_id", "website_id"),
)
Index(
    "documents_recent",
    documents.c.tenant_id,
    documents.c.created_at.desc(),
    documents.c.id.desc(),
)

document_sources = Table(
    "document_sources",
    metadata,
    tenant_id_column(),
    Column("document_id", Uuid, primary_key=True),
    Column("revision", Integer, nullable=False),
    Column("filename", Text),
    Column("content", LargeBinary, nullable=False),
    ForeignKeyConstraint(
        ["tenant_id", "document_id"], ["documents.tenant_id", "documents.id"], ondelete="CASCADE"
    ),
)

chunks = Table(
    "chunks",
    metadata,
    tenant_id_column(),
    Column("id", Uuid, primary_key=True),
    Column("document_id", Uuid, nullable=False),
    Column("revision", Integer, nullable=False),
    Column("ordinal", Integer, nullable=False),
    Column("heading_path", ARRAY(Text), nullable=False),
    Column("text", Text, nullable=False),
    Column("page", Integer),
    Column("token_count", Integer, nullable=False),
    Column("language_config", Text, nullable=False),
    Column("tsv", TSVECTOR, nullable=False),
    Column("embedding", Vector()),
    Column("embedding_dims", Integer),
    Column("embedding_model", Text),
    UniqueConstraint(
        "tenant_id", "document_id", "revision", "ordinal", name="chunks_one_per_position"
    ),
    ForeignKeyConstraint(
        ["tenant_id", "document_id"], ["documents.tenant_id", "documents.id"], ondelete="CASCADE"
    ),
    Index("chunks_tsv", "tenant_id", "tsv", postgresql_using="gin"),
)
for _dims in INDEXED_EMBEDDING_DIMENSIONS:
    Index(
        f"chunks_embedding_{_dims}",
        cast(chunks.c.embedding, HALFVEC(_dims)),
        postgresql_using="hnsw",
        postgresql_where=chunks.c.embedding_dims == _dims,
    )

terms = Table(
    "terms",
    metadata,
    tenant_id_column(),
    Column("term", Text, primary_key=True),
    Index(
        "terms_trigram",
        "tenant_id",
        "term",
        postgresql_using="gin",
        postgresql_ops={"term": "gin_trgm_ops"},
    ),
)

search_configs = Table(
    "search_configs",
    metadata,
    tenant_id_column(),
    Column("config", Text, primary_key=True),
)
