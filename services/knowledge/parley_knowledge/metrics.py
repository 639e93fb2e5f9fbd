"""Prometheus metrics of the knowledge service."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

PAGES_INGESTED = Counter(
    "parley_knowledge_pages_ingested_total", "Pages indexed, by media type", ["media_type"]
)
INGEST_SECONDS = Histogram(
    "parley_knowledge_ingest_seconds",
    "Time to extract, chunk, embed and index one document revision",
    ["media_type"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
)
SEARCH_SECONDS = Histogram(
    "parley_knowledge_search_seconds",
    "Time to answer one search, by entry point",
    ["entry"],
    buckets=(0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)
PAGES_CRAWLED = Counter(
    "parley_knowledge_pages_crawled_total", "Website pages fetched, by outcome", ["outcome"]
)
