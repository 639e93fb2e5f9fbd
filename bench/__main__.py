"""`python -m bench <name> [options]`: run one benchmark (see each module's docstring)."""

from __future__ import annotations

import importlib
import sys

BENCHMARKS = (
    "kafka_roundtrip",
    "make_run",
    "webhook_ingest",
    "outbound_rate",
    "conversation_pipeline",
    "api_edge",
    "ai_latency",
    "knowledge_search",
    "knowledge_ingest",
    "e2e",
    "notify_commit",
    "idle_consumers",
)


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] not in BENCHMARKS:
        raise SystemExit(f'usage: make bench BENCH_ARGS="<{"|".join(BENCHMARKS)}> [options]"')
    importlib.import_module(f"bench.{sys.argv[1]}").main(sys.argv[2:])


if __name__ == "__main__":
    main()
