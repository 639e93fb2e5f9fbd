"""The knowledge service's own consumer groups: the ingestion pipeline's work items, and
website imports.

Requests are keyed by document id, so one document's revisions are processed in order,
while documents spread over partitions (more partitions and replicas: more documents at
once). The work is idempotent by revision (see service/ingestion.py): a redelivered request
for a revision already live changes nothing.
"""

from __future__ import annotations

import logging
from uuid import UUID

from parley.knowledge.v1.events_pb2 import CrawlRequested, IngestRequested
from parley_platform.events import ConsumedEvent, PermanentEventError, Subscription, on
from parley_platform.events.topics import KNOWLEDGE_CRAWL_REQUESTED, KNOWLEDGE_INGEST_REQUESTED

from parley_knowledge.config import Settings
from parley_knowledge.domain.documents import REASON_INTERNAL
from parley_knowledge.service.crawler import Crawler
from parley_knowledge.service.ingestion import Ingestion

log = logging.getLogger(__name__)

INGEST_GROUP = "knowledge-ingest"


class IngestionEvents:
    """Handlers of the ingestion consumer group."""

    def __init__(self, ingestion: Ingestion, settings: Settings) -> None:
        self._ingestion = ingestion
        self._settings = settings

    def subscriptions(self) -> list[Subscription]:
        return [on(KNOWLEDGE_INGEST_REQUESTED, self.on_ingest_requested)]

    async def on_ingest_requested(self, event: ConsumedEvent[IngestRequested]) -> None:
        try:
            document_id = UUID(event.payload.document_id)
        except ValueError as exc:
            raise PermanentEventError("document_id is not a valid id") from exc
        revision = event.payload.revision
        try:
            await self._ingestion.process(event.tenant_id, document_id, revision)
        except Exception:
            if event.attempt < self._settings.consumer_max_attempts:
                raise
            # Out of retries: say so on the document rather than leave it processing.
            log.exception("ingestion failed for good", extra={"document_id": str(document_id)})
            await self._ingestion.fail(event.tenant_id, document_id, revision, REASON_INTERNAL)


CRAWL_GROUP = "knowledge-crawl"
REASON_CRAWL_INTERNAL = (
    "the import stopped on an internal error several times; start it again, and contact "
    "support if it keeps failing"
)


class CrawlEvents:
    """Handlers of the website-import consumer group (keyed by website: one crawl of a
    website at a time, websites in parallel)."""

    def __init__(self, crawler: Crawler, settings: Settings) -> None:
        self._crawler = crawler
        self._settings = settings

    def subscriptions(self) -> list[Subscription]:
        return [on(KNOWLEDGE_CRAWL_REQUESTED, self.on_crawl_requested)]

    async def on_crawl_requested(self, event: ConsumedEvent[CrawlRequested]) -> None:
        try:
            website_id = UUID(event.payload.website_id)
        except ValueError as exc:
            raise PermanentEventError("website_id is not a valid id") from exc
        try:
            await self._crawler.crawl(event.tenant_id, website_id, event.payload.crawl)
        except Exception:
            if event.attempt < self._settings.consumer_max_attempts:
                raise
            log.exception("website import failed for good", extra={"website_id": str(website_id)})
            await self._crawler.fail(
                event.tenant_id, website_id, event.payload.crawl, REASON_CRAWL_INTERNAL
            )
