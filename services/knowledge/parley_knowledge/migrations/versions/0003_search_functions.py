"""Search functions that can use the tenant-first indexes.

Under row-level security PostgreSQL applies a table's policy before any condition whose
operator is not leakproof, and the full-text (`@@`), trigram (`%`) and pgvector (`<=>`)
operators are not: a search by the app role could not use the GIN and HNSW indexes and read
every chunk of the tenant instead. These functions run as the owner role and filter on the
transaction's tenant themselves, taken from `app.tenant_id` exactly as the policies take it
(never from an argument), so they see what the policies would let the caller see and use
the indexes. Without a tenant they return nothing.

Revision ID: 0003
Revises: 0002
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TENANT = "NULLIF(current_setting('app.tenant_id', true), '')::uuid"
# Document frequencies and the tenant's chunk count are counted up to this (see the ranking
# in parley_knowledge.repository.chunks).
DF_CAP = 300
RANK_WEIGHTS = "{0.4, 0.4, 0.5, 1.0}"  # D (body), C, B (title, upper headings), A (heading)
INDEXED_EMBEDDING_DIMENSIONS = "{256, 384, 512, 768, 1024, 1536, 3072}"
MAX_SCAN_TUPLES = 4000


def upgrade() -> None:
    op.execute(
        f"""
        CREATE FUNCTION knowledge_full_text_ranking(query_words text[], max_rows integer)
        RETURNS TABLE (chunk_id uuid, score double precision)
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
        WITH tenant AS MATERIALIZED (
            SELECT {TENANT} AS id
        ), words AS (
            SELECT s.config, plainto_tsquery(CAST(s.config AS regconfig), w.word) AS q
              FROM search_configs s, unnest(query_words) AS w(word)
             WHERE s.tenant_id = (SELECT id FROM tenant)
        ), counted AS MATERIALIZED (
            SELECT w.config, w.q,
                   (SELECT count(*) FROM (
                        SELECT 1 FROM chunks c
                         WHERE c.tenant_id = (SELECT id FROM tenant)
                           AND c.tsv @@ w.q AND c.language_config = w.config
                         LIMIT {DF_CAP}) hits) AS df
              FROM words w
             WHERE numnode(w.q) > 0
        ), size AS MATERIALIZED (
            SELECT count(*) AS n FROM (
                SELECT 1 FROM chunks c WHERE c.tenant_id = (SELECT id FROM tenant)
                 LIMIT {DF_CAP}) sample
        ), weighted AS MATERIALIZED (
            SELECT config, q, df, ln(1 + (size.n - df + 0.5) / (df + 0.5)) AS idf
              FROM counted, size
             WHERE df > 0
        ), selective AS (
            SELECT w.config, w.q
              FROM weighted w
             WHERE w.df < {DF_CAP}
                OR NOT EXISTS (
                       SELECT 1 FROM weighted x WHERE x.config = w.config AND x.df < {DF_CAP})
        ), queries AS MATERIALIZED (
            SELECT config, CAST(string_agg(CAST(q AS text), ' | ') AS tsquery) AS query
              FROM selective
             GROUP BY config
        ), candidates AS (
            SELECT c.id, c.tsv, c.language_config
              FROM queries q
              JOIN chunks c ON c.tenant_id = (SELECT id FROM tenant) AND c.tsv @@ q.query
             WHERE c.language_config = q.config
        )
        SELECT k.id,
               (SELECT sum(w.idf * ts_rank('{RANK_WEIGHTS}', k.tsv, w.q, 1))
                  FROM weighted w
                 WHERE w.config = k.language_config AND k.tsv @@ w.q) AS score
          FROM candidates k
         ORDER BY score DESC, k.id
         LIMIT max_rows
        $$
        """
    )
    op.execute(
        f"""
        CREATE FUNCTION knowledge_misspellings(query_words text[], min_similarity real)
        RETURNS TABLE (word text, term text)
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
        WITH tenant AS MATERIALIZED (
            SELECT {TENANT} AS id
        ), unknown AS MATERIALIZED (
            SELECT w.word
              FROM unnest(query_words) AS w(word)
             WHERE NOT EXISTS (
                   SELECT 1 FROM terms k
                    WHERE k.tenant_id = (SELECT id FROM tenant) AND k.term = w.word)
        )
        SELECT u.word, best.term
          FROM unknown u
          CROSS JOIN LATERAL (
                SELECT t.term, similarity(t.term, u.word) AS similarity
                  FROM terms t
                 WHERE t.tenant_id = (SELECT id FROM tenant) AND t.term % u.word
                 ORDER BY similarity(t.term, u.word) DESC, t.term
                 LIMIT 1) best
         WHERE best.similarity >= min_similarity
        $$
        """
    )
    op.execute(
        f"""
        CREATE FUNCTION knowledge_vector_ranking(
            query_vector text, dims integer, model text, max_rows integer,
            min_similarity double precision)
        RETURNS TABLE (chunk_id uuid, similarity double precision)
        LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
        DECLARE
            tenant uuid := {TENANT};
        BEGIN
            IF tenant IS NULL THEN
                RETURN;
            END IF;
            IF dims = ANY('{INDEXED_EMBEDDING_DIMENSIONS}'::integer[]) THEN
                -- The expression matches the partial HNSW index of this size. The index holds
                -- every tenant's vectors: iterative scans read on until enough of this
                -- tenant's are found, bounded by MAX_SCAN_TUPLES (a tenant holding a small
                -- share of all vectors gets fewer neighbours rather than a slow search).
                PERFORM set_config('hnsw.iterative_scan', 'relaxed_order', true);
                PERFORM set_config('hnsw.ef_search', greatest(40, max_rows)::text, true);
                PERFORM set_config('hnsw.max_scan_tuples', '{MAX_SCAN_TUPLES}', true);
                RETURN QUERY EXECUTE format(
                    'SELECT n.id, n.similarity FROM (
                         SELECT c.id,
                                1 - ((c.embedding::halfvec(%1$s)) <=> $1::halfvec(%1$s))
                                    AS similarity
                           FROM chunks c
                          WHERE c.tenant_id = $2 AND c.embedding_dims = %1$s
                            AND c.embedding_model = $3
                          ORDER BY (c.embedding::halfvec(%1$s)) <=> $1::halfvec(%1$s)
                          LIMIT $4) n
                      WHERE n.similarity >= $5', dims)
                    USING query_vector, tenant, model, max_rows, min_similarity;
            ELSE
                RETURN QUERY
                    SELECT n.id, n.similarity FROM (
                        SELECT c.id, 1 - (c.embedding <=> query_vector::vector) AS similarity
                          FROM chunks c
                         WHERE c.tenant_id = tenant AND c.embedding_dims = dims
                           AND c.embedding_model = model
                         ORDER BY c.embedding <=> query_vector::vector
                         LIMIT max_rows) n
                     WHERE n.similarity >= min_similarity;
            END IF;
        END $$
        """
    )


def downgrade() -> None:
    raise NotImplementedError("forward-only migrations")
