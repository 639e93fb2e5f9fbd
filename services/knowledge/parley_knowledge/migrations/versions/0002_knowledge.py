"""Documents, their sources and chunks, imported websites, the tenant's vocabulary (for
misspelled query words), the text-search configurations in use, and tenant preferences.

Every table is a tenant table: `tenant_id` leads each primary key, unique constraint and
index (the GIN indexes too, through btree_gin), so one tenant's search reads only its own
index entries; foreign keys are composite `(tenant_id, ...)`; row-level security is forced.
Embeddings are stored without a fixed dimension (models differ); HNSW indexes exist for the
common dimensions, each over the rows of that dimension.

Revision ID: 0002
Revises: 0001
"""

from alembic import op
from parley_platform.db.rls import enable_tenant_isolation

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TABLES = (
    "preferences",
    "websites",
    "documents",
    "document_sources",
    "chunks",
    "terms",
    "search_configs",
)
# Must match parley_knowledge.repository.tables.INDEXED_EMBEDDING_DIMENSIONS.
INDEXED_EMBEDDING_DIMENSIONS = (256, 384, 512, 768, 1024, 1536, 3072)


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE preferences (
            tenant_id         uuid        NOT NULL PRIMARY KEY,
            default_language  text        NOT NULL,
            updated_at        timestamptz NOT NULL DEFAULT now()
        )
        """
    )
    op.execute(
        """
        CREATE TABLE websites (
            tenant_id        uuid        NOT NULL,
            id               uuid        NOT NULL,
            start_url        text        NOT NULL,
            page_limit       integer     NOT NULL CHECK (page_limit > 0),
            state            text        NOT NULL
                CHECK (state IN ('queued', 'crawling', 'done', 'failed')),
            failure_reason   text,
            crawl            bigint      NOT NULL DEFAULT 1,
            pages_found      integer     NOT NULL DEFAULT 0,
            pages_changed    integer     NOT NULL DEFAULT 0,
            pages_removed    integer     NOT NULL DEFAULT 0,
            pages_skipped    integer     NOT NULL DEFAULT 0,
            crawl_started_at timestamptz,
            crawl_finished_at timestamptz,
            created_at       timestamptz NOT NULL DEFAULT now(),
            updated_at       timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (tenant_id, id),
            CONSTRAINT websites_one_per_start_url UNIQUE (tenant_id, start_url)
        )
        """
    )
    op.execute(
        """
        CREATE TABLE documents (
            tenant_id        uuid        NOT NULL,
            id               uuid        NOT NULL,
            kind             text        NOT NULL
                CHECK (kind IN ('text', 'file', 'faq', 'web_page')),
            title            text        NOT NULL,
            external_id      text,
            source_uri       text,
            media_type       text        NOT NULL,
            language         text,
            state            text        NOT NULL
                CHECK (state IN ('queued', 'processing', 'ready', 'failed')),
            failure_reason   text,
            revision         integer     NOT NULL DEFAULT 1,
            live_revision    integer,
            byte_size        bigint      NOT NULL DEFAULT 0,
            page_count       integer     NOT NULL DEFAULT 0,
            chunk_count      integer     NOT NULL DEFAULT 0,
            content_hash     text        NOT NULL,
            website_id       uuid,
            embedding_model  text,
            created_at       timestamptz NOT NULL DEFAULT now(),
            updated_at       timestamptz NOT NULL DEFAULT now(),
            indexed_at       timestamptz,
            PRIMARY KEY (tenant_id, id),
            CONSTRAINT documents_one_per_external_id UNIQUE (tenant_id, external_id),
            FOREIGN KEY (tenant_id, website_id) REFERENCES websites (tenant_id, id)
                ON DELETE CASCADE
        )
        """
    )
    op.execute("CREATE INDEX documents_recent ON documents (tenant_id, created_at DESC, id DESC)")
    op.execute("CREATE INDEX documents_website ON documents (tenant_id, website_id)")
    op.execute(
        """
        CREATE TABLE document_sources (
            tenant_id    uuid    NOT NULL,
            document_id  uuid    NOT NULL,
            revision     integer NOT NULL,
            filename     text,
            content      bytea   NOT NULL,
            PRIMARY KEY (tenant_id, document_id),
            FOREIGN KEY (tenant_id, document_id) REFERENCES documents (tenant_id, id)
                ON DELETE CASCADE
        )
        """
    )
    op.execute(
        """
        CREATE TABLE chunks (
            tenant_id        uuid     NOT NULL,
            id               uuid     NOT NULL,
            document_id      uuid     NOT NULL,
            revision         integer  NOT NULL,
            ordinal          integer  NOT NULL,
            heading_path     text[]   NOT NULL DEFAULT '{}',
            text             text     NOT NULL,
            page             integer,
            token_count      integer  NOT NULL,
            language_config  text     NOT NULL,
            tsv              tsvector NOT NULL,
            embedding        vector,
            embedding_dims   integer,
            embedding_model  text,
            PRIMARY KEY (tenant_id, id),
            CONSTRAINT chunks_one_per_position UNIQUE (tenant_id, document_id, revision, ordinal),
            FOREIGN KEY (tenant_id, document_id) REFERENCES documents (tenant_id, id)
                ON DELETE CASCADE
        )
        """
    )
    op.execute("CREATE INDEX chunks_tsv ON chunks USING gin (tenant_id, tsv)")
    for dims in INDEXED_EMBEDDING_DIMENSIONS:
        op.execute(
            f"CREATE INDEX chunks_embedding_{dims} ON chunks "
            f"USING hnsw ((embedding::halfvec({dims})) halfvec_cosine_ops) "
            f"WHERE embedding_dims = {dims}"
        )
    op.execute(
        """
        CREATE TABLE terms (
            tenant_id  uuid NOT NULL,
            term       text NOT NULL,
            PRIMARY KEY (tenant_id, term)
        )
        """
    )
    op.execute("CREATE INDEX terms_trigram ON terms USING gin (tenant_id, term gin_trgm_ops)")
    # The text-search configurations a tenant's chunks use: a query is stemmed once per
    # configuration (kept small: a tenant writes in few languages).
    op.execute(
        """
        CREATE TABLE search_configs (
            tenant_id  uuid NOT NULL,
            config     text NOT NULL,
            PRIMARY KEY (tenant_id, config)
        )
        """
    )
    for table in TABLES:
        enable_tenant_isolation(table)
    # The embedding upkeep finds work across tenants: this function is its only door, and
    # it returns document ids, never content.
    op.execute(
        """
        CREATE FUNCTION knowledge_documents_to_embed(model text, max_rows integer)
        RETURNS TABLE (tenant_id uuid, document_id uuid)
        LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
            SELECT d.tenant_id, d.id FROM public.documents d
             WHERE d.live_revision IS NOT NULL
               AND d.embedding_model IS DISTINCT FROM model
             ORDER BY d.updated_at
             LIMIT max_rows
        $$
        """
    )


def downgrade() -> None:
    raise NotImplementedError("forward-only migrations")
