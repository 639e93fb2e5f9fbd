"""Settings of the knowledge service (environment variables `PARLEY_KNOWLEDGE_*`)."""

from __future__ import annotations

from typing import ClassVar

from parley_platform.settings import ServiceSettings, service_config
from pydantic import Field, SecretStr


class Settings(ServiceSettings):
    """Documents, chunks and retrieval."""

    model_config = service_config("knowledge")
    service_name: ClassVar[str] = "knowledge"
    # vector: embeddings; pg_trgm: misspelled query words; btree_gin: tenant_id leading the
    # full-text and trigram GIN indexes, so one tenant's search reads only its own entries.
    database_extensions: ClassVar[tuple[str, ...]] = ("vector", "pg_trgm", "btree_gin")

    http_port: int = 8085
    grpc_port: int = 50052

    # Uploads. The gateway cuts request bodies at its own upload limit (25 MiB); this is the
    # service's limit on one document's bytes (files, JSON text, one crawled page).
    max_document_bytes: int = Field(default=20 * 1024 * 1024, ge=1024)
    max_title_chars: int = Field(default=300, ge=10)

    # Per-tenant quotas (every tenant the same; 0 means no limit).
    quota_documents: int = Field(default=2_000, ge=0)
    quota_bytes: int = Field(default=500 * 1024 * 1024, ge=0)
    quota_pages: int = Field(default=20_000, ge=0)

    # The language of a document when detection is unsure and the tenant set none (ISO 639-1).
    default_language: str = "en"

    # Chunk sizes in (approximate) tokens.
    chunk_target_tokens: int = Field(default=300, ge=50)
    chunk_max_tokens: int = Field(default=450, ge=60)
    chunk_overlap_tokens: int = Field(default=50, ge=0)

    # Ingestion: documents processed at once by one replica (more replicas and partitions
    # scale it further).
    ingest_concurrency: int = Field(default=4, ge=1, le=64)

    # Embeddings: any OpenAI-compatible `/embeddings` endpoint (OpenAI, Ollama, vLLM,
    # text-embeddings-inference). Unset base URL: full-text search only.
    embedding_base_url: str | None = None  # e.g. https://api.openai.com/v1
    embedding_model: str = ""
    embedding_api_key: SecretStr | None = None
    # Asked of the provider as `dimensions` (models that support it); unset: the model's own.
    embedding_dimensions: int | None = Field(default=None, ge=8, le=4000)
    embedding_batch_size: int = Field(default=64, ge=1, le=2048)
    embedding_timeout_s: float = Field(default=20.0, gt=0)
    # Documents whose chunks lack embeddings of the current model are (re-)embedded by a
    # background job at this interval.
    embedding_upkeep_interval_s: float = Field(default=30.0, gt=0)

    # Search.
    search_candidates: int = Field(default=60, ge=10, le=1000)  # per ranking, before fusion
    rrf_k: int = Field(default=60, ge=1)
    # Vector results less similar than this are not candidates (a query about nothing the
    # knowledge base holds should find nothing).
    vector_min_similarity: float = Field(default=0.35, ge=-1, le=1)
    # A query word of at least this many letters that the tenant's documents do not contain
    # is also searched as its closest known word (trigram similarity at least
    # `typo_min_similarity`).
    typo_min_word_length: int = Field(default=4, ge=2)
    typo_min_similarity: float = Field(default=0.45, gt=0, le=1)

    # Website imports.
    crawl_allow_private_addresses: bool = False  # loopback/private targets (tests, `make run`)
    crawl_default_page_limit: int = Field(default=100, ge=1)
    crawl_max_page_limit: int = Field(default=1_000, ge=1)
    crawl_timeout_s: float = Field(default=15.0, gt=0)
    crawl_max_redirects: int = Field(default=5, ge=0)
    crawl_user_agent: str = "ParleyKnowledgeBot/1.0"
    crawl_concurrency: int = Field(default=4, ge=1, le=64)  # websites crawled at once
