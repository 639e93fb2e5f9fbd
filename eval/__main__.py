"""`make eval` (`python -m eval [options]`): the AI's golden set against the real knowledge
and ai services, on the test infrastructure (see eval/harness.py for what is measured).

    make eval                                   # the extractive provider
    make eval EVAL_ARGS="--with-stub"           # also the LLM stand-in (checks the model path;
                                                # its figures say nothing about a real model)
    make eval EVAL_ARGS="--llm-base-url https://openrouter.ai/api/v1 \\
        --llm-model anthropic/claude-3-haiku --llm-fallback openai/gpt-3.5-turbo \\
        --llm-api-key-env OPENROUTER_API_KEY"   # any OpenAI-compatible model

Exits non-zero when the extractive provider misses a target.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from parley_ai.config import Settings as AiSettings
from parley_ai.main import create_app as create_ai
from parley_knowledge.config import Settings as KnowledgeSettings
from parley_knowledge.main import create_app as create_knowledge
from parley_llm_stub.app import create_app as create_stub
from parley_llm_stub.config import StubSettings
from parley_testing.infrastructure import test_infrastructure
from parley_testing.kafka import delete_topics
from parley_testing.services import serve_app

from eval.harness import Report, Services, evaluate, load_all, load_golden, service_database


@asynccontextmanager
async def running_services() -> AsyncIterator[Services]:
    """Knowledge and ai on the test infrastructure, with databases and topics of their own."""
    tag = uuid.uuid4().hex[:8]
    prefix = f"eval-{tag}."
    common: dict[str, Any] = {"environment": "test", "log_level": "WARNING", "http_port": 0}
    with test_infrastructure() as infra:
        common |= {
            "kafka_bootstrap": infra.kafka_bootstrap,
            "kafka_topic_prefix": prefix,
            "kafka_partitions": 3,
            "redis_url": infra.redis_url,
            "service_token_secret": secrets.token_urlsafe(32),
        }
        try:
            async with (
                service_database(infra, "knowledge", f"_eval{tag}") as knowledge_db,
                service_database(infra, "ai", f"_eval{tag}") as ai_db,
            ):
                knowledge_settings = KnowledgeSettings(
                    **common, grpc_port=0, database_url=knowledge_db.app_url()
                )
                async with serve_app(create_knowledge(knowledge_settings)) as knowledge:
                    ai_settings = AiSettings(
                        **common,
                        database_url=ai_db.app_url(),
                        encryption_key=secrets.token_urlsafe(32),
                        knowledge_grpc_target=f"127.0.0.1:{knowledge.runtime.grpc_port}",
                    )
                    async with serve_app(create_ai(ai_settings)) as ai:
                        yield Services(knowledge, knowledge_settings, ai, ai_settings)
        finally:
            await delete_topics(infra.kafka_bootstrap, prefix)


async def main_async(args: argparse.Namespace) -> int:
    sets = load_golden(sample_every=args.sample_every)
    run = uuid.uuid4().hex[:8]
    reports: list[tuple[Report, bool]] = []
    async with running_services() as services:
        await load_all(services, sets, run)
        extractive = await evaluate(
            services, sets, run=run, label="extractive", provider={"provider": "extractive"}
        )
        reports.append((extractive, True))
        if args.with_stub:
            async with serve_app(create_stub(StubSettings())) as stub:
                provider = {
                    "provider": "openai-compatible",
                    "base_url": f"{stub.base_url}/v1",
                    "model": "stub-large",
                    "fallback_model": "stub-small",
                }
                label = "LLM stand-in (checks the model path; not a model's quality)"
                reports.append(
                    (await evaluate(services, sets, run=run, label=label, provider=provider), False)
                )
        if args.llm_base_url:
            provider = {
                "provider": "openai-compatible",
                "base_url": args.llm_base_url,
                "model": args.llm_model,
                "fallback_model": args.llm_fallback or "",
            }
            if args.llm_api_key_env:
                provider["api_key"] = os.environ[args.llm_api_key_env]
            label = f"openai-compatible {args.llm_model} at {args.llm_base_url}"
            reports.append(
                (await evaluate(services, sets, run=run, label=label, provider=provider), True)
            )
    for report, targets in reports:
        sys.stdout.write("\n".join(report.lines(targets=targets)) + "\n\n")
    met = extractive.grounded_rate >= 0.90 and extractive.handoff_rate >= 0.95
    return 0 if met else 1


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--with-stub", action="store_true", help="also run the LLM stand-in")
    parser.add_argument("--llm-base-url", help="an OpenAI-compatible API to evaluate")
    parser.add_argument("--llm-model", default="", help="its model")
    parser.add_argument("--llm-fallback", default="", help="its fallback model")
    parser.add_argument("--llm-api-key-env", default="", help="environment variable with the key")
    parser.add_argument(
        "--sample-every", type=int, default=1, help="ask every n-th question (a short run)"
    )
    args = parser.parse_args()
    if args.llm_base_url and not args.llm_model:
        parser.error("--llm-base-url needs --llm-model")
    raise SystemExit(asyncio.run(main_async(args)))


if __name__ == "__main__":
    main()
