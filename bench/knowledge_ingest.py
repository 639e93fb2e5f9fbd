"""Knowledge ingestion throughput: pages per second from upload to `ready` (extract, chunk,
index; no embeddings), for PDF and HTML, and how it grows with partitions and worker
processes.

Each configuration runs the knowledge service as `workers` child processes (one consumer
group, `partitions` partitions of the ingest topic, up to 4 documents at once per process)
against the test profile's Kafka and a PostgreSQL with durable settings of its own. The
documents are uploaded through the first process's API as fast as it takes them; the clock
runs from the first upload to the last document ready. Baseline: 1 partition, 1 process.

    make bench BENCH_ARGS="knowledge_ingest --documents 40 --pdf-pages 10"

The machine has 2 cores shared by the processes, PostgreSQL and Kafka: past 2 processes the
figures show contention, not the design's limit (more machines add cores).
"""

from __future__ import annotations

import argparse
import asyncio
import io
import random
import secrets
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg
import httpx
from fpdf import FPDF
from parley_knowledge.config import Settings
from parley_platform.identity import Principal, Role
from parley_testing.infrastructure import test_infrastructure
from parley_testing.services import ChildProcess, free_port, principal_headers, settings_env

from bench.knowledge_common import durability_settings, durable_postgres, knowledge_database
from bench.knowledge_search import vocabulary

CONFIGURATIONS = ((1, 1), (2, 2), (4, 2))  # (partitions, worker processes)


def paragraph(rng: random.Random, words: list[str], length: int = 80) -> str:
    return " ".join(rng.choice(words) for _ in range(length)).capitalize() + "."


def make_pdf(rng: random.Random, words: list[str], pages: int) -> bytes:
    pdf = FPDF()
    pdf.set_font("Helvetica", size=10)
    for page in range(pages):
        pdf.add_page()
        pdf.start_section(f"Chapter {page + 1}")
        for _ in range(4):
            pdf.multi_cell(0, 5, paragraph(rng, words))
            pdf.ln(3)
    out = io.BytesIO()
    pdf.output(out)
    return out.getvalue()


def make_html(rng: random.Random, words: list[str]) -> bytes:
    sections = "".join(
        f"<h2>{rng.choice(words).title()}</h2><p>{paragraph(rng, words)}</p>" for _ in range(4)
    )
    return (
        "<html><head><title>Help article</title></head><body>"
        "<nav><a href='/'>Home</a><a href='/help'>Help</a></nav>"
        f"<main><h1>{rng.choice(words).title()}</h1>{sections}</main>"
        "<footer>Copyright Example Ltd</footer></body></html>"
    ).encode()


async def run_one(
    kind: str,
    files: list[bytes],
    pages_each: int,
    partitions: int,
    workers: int,
    infra_kafka: str,
    redis_url: str,
    db_url: str,
    owner_url: str,
    logs: Path,
) -> float:
    """Pages per second for one configuration."""
    secret = secrets.token_urlsafe(32)
    prefix = f"bench-{uuid.uuid4().hex[:6]}."
    ports = [free_port() for _ in range(workers)]
    processes = []
    for n, port in enumerate(ports):
        settings = Settings(
            environment="test",
            kafka_bootstrap=infra_kafka,
            kafka_topic_prefix=prefix,
            kafka_partitions=partitions,
            redis_url=redis_url,
            database_url=db_url,
            service_token_secret=secret,
            http_port=port,
            grpc_port=0,
            log_level="WARNING",
            ingest_concurrency=4,
        )
        processes.append(
            ChildProcess(
                ["-m", "parley_knowledge"],
                settings_env(settings),
                logs / f"{kind}-{partitions}-{n}.log",
            ).start()
        )
    try:
        base = f"http://127.0.0.1:{ports[0]}"
        async with httpx.AsyncClient(timeout=60) as client:
            for port in ports:
                for _ in range(600):
                    try:
                        if (await client.get(f"http://127.0.0.1:{port}/readyz")).status_code == 200:
                            break
                    except httpx.HTTPError:
                        pass
                    await asyncio.sleep(0.1)
            await asyncio.sleep(3)  # let the group settle its partitions
            tenant = uuid.uuid4()
            headers = principal_headers(settings, Principal(tenant_id=tenant, role=Role.ADMIN))
            name, media = (
                ("doc.pdf", "application/pdf") if kind == "pdf" else ("page.html", "text/html")
            )
            started = time.perf_counter()
            for content in files:
                response = await client.post(
                    f"{base}/api/v1/knowledge/documents",
                    headers=headers,
                    files={"file": (name, content, media)},
                )
                response.raise_for_status()
        owner = await asyncpg.connect(owner_url)
        try:
            while True:
                ready = await owner.fetchval(
                    "SELECT count(*) FROM documents "
                    "WHERE tenant_id = $1 AND state IN ('ready', 'failed')",
                    tenant,
                )
                if ready >= len(files):
                    break
                await asyncio.sleep(0.05)
            elapsed = time.perf_counter() - started
            failed = await owner.fetchval(
                "SELECT count(*) FROM documents WHERE tenant_id = $1 AND state = 'failed'", tenant
            )
        finally:
            await owner.close()
        if failed:
            raise RuntimeError(f"{failed} documents failed; see {logs}")
        return len(files) * pages_each / elapsed
    finally:
        for process in processes:
            process.kill()


async def run(documents: int, pdf_pages: int) -> None:
    rng = random.Random(11)
    words = vocabulary(5_000)
    pdfs = [make_pdf(rng, words, pdf_pages) for _ in range(documents)]
    pages_html = [make_html(rng, words) for _ in range(documents * pdf_pages // 2)]
    with test_infrastructure() as infra, tempfile.TemporaryDirectory() as logs:
        async with durable_postgres() as postgres, knowledge_database(postgres) as db:
            durability = await durability_settings(postgres)
            owner_url = db.owner_url().replace("+asyncpg", "")
            results: dict[tuple[str, int, int], float] = {}
            for partitions, workers in CONFIGURATIONS:
                for kind, files, pages in (("pdf", pdfs, pdf_pages), ("html", pages_html, 1)):
                    results[(kind, partitions, workers)] = await run_one(
                        kind,
                        files,
                        pages,
                        partitions,
                        workers,
                        infra.kafka_bootstrap,
                        infra.redis_url,
                        db.app_url(),
                        owner_url,
                        Path(logs),
                    )
    print(  # noqa: T201
        f"knowledge ingestion, upload to ready: {documents} PDFs of {pdf_pages} pages, "
        f"{len(pages_html)} HTML pages; PostgreSQL {durability}; Kafka {infra.source}"
    )
    for kind in ("pdf", "html"):
        baseline = results[(kind, 1, 1)]
        for partitions, workers in CONFIGURATIONS:
            rate = results[(kind, partitions, workers)]
            print(  # noqa: T201
                f"  {kind:<4} partitions={partitions} processes={workers}: {rate:7.1f} pages/s "
                f"(ratio to 1 partition, 1 process: {rate / baseline:.2f})"
            )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--documents", type=int, default=40, help="PDF documents")
    parser.add_argument("--pdf-pages", type=int, default=10)
    args = parser.parse_args(argv)
    asyncio.run(run(args.documents, args.pdf_pages))


if __name__ == "__main__":
    main()
