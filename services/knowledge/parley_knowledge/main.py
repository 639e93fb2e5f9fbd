"""Knowledge service process wiring: the database with its outbox relay, the ingestion
consumer, the embedding provider (when configured), gRPC Search for the ai service, and
the knowledge API."""

from __future__ import annotations

from fastapi import FastAPI
from parley_platform.events import BACKGROUND
from parley_platform.events.topics import (
    KNOWLEDGE_CRAWL_REQUESTED,
    KNOWLEDGE_DOCUMENT_CHANGED,
    KNOWLEDGE_INGEST_REQUESTED,
)
from parley_platform.http import create_service_app
from parley_platform.runtime import Resources, ServiceRuntime

from parley_knowledge.api import documents, faq, preferences, search, websites
from parley_knowledge.api.dependencies import Components
from parley_knowledge.config import Settings
from parley_knowledge.events.handlers import (
    CRAWL_GROUP,
    INGEST_GROUP,
    CrawlEvents,
    IngestionEvents,
)
from parley_knowledge.grpc.servicer import ALLOWED_CALLERS, SERVICE_NAME, KnowledgeServicer
from parley_knowledge.service.crawler import Crawler
from parley_knowledge.service.embeddings import EmbeddingClient
from parley_knowledge.service.fetching import Fetcher
from parley_knowledge.service.ingestion import Ingestion
from parley_knowledge.service.search import Searcher
from parley_knowledge.service.upkeep import EmbeddingUpkeep

DESCRIPTION = (
    "Each business's knowledge: documents, FAQ entries and imported websites, cut into "
    "chunks and searched (full text, and vectors when an embedding model is configured) "
    "for the AI."
)


def create_app(settings: Settings | None = None) -> FastAPI:
    """The knowledge service's app."""
    settings = settings or Settings()

    async def wire(resources: Resources) -> Components:
        database = resources.database
        embedder = EmbeddingClient.from_settings(settings)
        if embedder is not None:
            resources.on_stop(embedder.close)
            resources.every(
                "embedding-upkeep",
                settings.embedding_upkeep_interval_s,
                EmbeddingUpkeep(database, embedder).run,
            )
        searcher = Searcher(database, settings, embedder)
        ingestion = Ingestion(database, settings, embedder)
        resources.consume(
            INGEST_GROUP,
            IngestionEvents(ingestion, settings).subscriptions(),
            concurrency=settings.ingest_concurrency,
            pickup=BACKGROUND,
        )
        fetcher = Fetcher(
            allow_private=settings.crawl_allow_private_addresses,
            timeout_s=settings.crawl_timeout_s,
            user_agent=settings.crawl_user_agent,
            max_bytes=settings.max_document_bytes,
        )
        resources.on_stop(fetcher.close)
        resources.consume(
            CRAWL_GROUP,
            CrawlEvents(Crawler(database, settings, fetcher), settings).subscriptions(),
            concurrency=settings.crawl_concurrency,
            pickup=BACKGROUND,
        )
        resources.serve_grpc(
            register=[KnowledgeServicer(searcher).register],
            service_names=[SERVICE_NAME],
            allowed_callers=ALLOWED_CALLERS,
        )
        return Components(database=database, settings=settings, searcher=searcher)

    runtime = ServiceRuntime(
        settings,
        wire,
        database=True,
        outbox_relay=True,
        topics=[KNOWLEDGE_DOCUMENT_CHANGED, KNOWLEDGE_INGEST_REQUESTED, KNOWLEDGE_CRAWL_REQUESTED],
    )
    return create_service_app(
        runtime,
        title="Parley knowledge",
        description=DESCRIPTION,
        routers=[
            documents.router,
            faq.router,
            websites.router,
            search.router,
            preferences.router,
        ],
    )
