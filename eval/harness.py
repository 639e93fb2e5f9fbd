"""The AI's golden set, run against the real knowledge and ai services.

Each tenant file in `golden/` holds a small knowledge base and questions: answerable ones with
the document that must be cited and the facts the answer must contain, and questions that
must be handed to a person (not in the knowledge base, another tenant's knowledge, a
personal case, a callback, prompt injection). Every tenant's documents are uploaded through
the knowledge API and indexed; each question goes through the ai service's use case
(`Responder.decide`: retrieval over gRPC for that tenant, then the tenant's provider) exactly
as a customer message would, minus the Kafka hops.

Figures:
- grounded-answer rate: answerable questions answered citing the expected document and
  containing every required fact;
- correct-handoff rate: must-handoff questions handed off;
- citation precision: citations (over all answers) that name the expected document (any
  citation in an answer to a must-handoff question is wrong);
- latency of the decision (retrieval + provider), p50 / p95 / max.
"""

from __future__ import annotations

import json
import secrets
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from parley_ai.domain.decision import Answer, Clarification, Handoff
from parley_ai.domain.text import normalise
from parley_ai.service.responder import Question
from parley_devstack.services import prepare_database, service
from parley_platform.context import tenant_scope
from parley_platform.db.provision import ServiceDatabase, drop
from parley_platform.identity import Principal, Role
from parley_testing.infrastructure import Infrastructure
from parley_testing.polling import eventually
from parley_testing.services import RunningApp, principal_headers

GOLDEN = Path(__file__).parent / "golden"
NAMESPACE = uuid.UUID("6f1d7a52-3c1e-4d8e-9a57-0e4a5a3f2b10")
TARGETS = {"grounded": 0.90, "handoff": 0.95}


@dataclass(frozen=True)
class GoldenQuestion:
    text: str
    expect: str  # "answer" or "handoff"
    source: str = ""
    facts: tuple[str, ...] = ()
    why: str = ""


@dataclass(frozen=True)
class TenantSet:
    name: str
    business_name: str
    language: str
    documents: tuple[tuple[str, str], ...]
    questions: tuple[GoldenQuestion, ...]


def load_golden(folder: Path = GOLDEN, sample_every: int = 1) -> list[TenantSet]:
    """The golden set (every `sample_every`-th question of each kind, for a short run)."""
    sets = []
    for path in sorted(folder.glob("*.json")):
        raw = json.loads(path.read_text())
        questions = [
            GoldenQuestion(
                text=q["q"],
                expect=q["expect"],
                source=q.get("source", ""),
                facts=tuple(q.get("facts", ())),
                why=q.get("why", ""),
            )
            for q in raw["questions"]
        ]
        answerable = [q for q in questions if q.expect == "answer"][::sample_every]
        handoffs = [q for q in questions if q.expect == "handoff"][::sample_every]
        sets.append(
            TenantSet(
                name=raw["tenant"],
                business_name=raw["business_name"],
                language=raw["language"],
                documents=tuple((d["title"], d["text"]) for d in raw["documents"]),
                questions=tuple(answerable + handoffs),
            )
        )
    return sets


@dataclass
class Result:
    tenant: str
    question: GoldenQuestion
    outcome: str  # answer / clarification / handoff:<reason>
    cited: tuple[str, ...]
    text: str
    latency_s: float

    @property
    def grounded(self) -> bool:
        q = self.question
        return (
            q.expect == "answer"
            and self.outcome == "answer"
            and q.source in self.cited
            and all(normalise(fact) in normalise(self.text) for fact in q.facts)
        )

    @property
    def handed_off(self) -> bool:
        return self.outcome.startswith("handoff")


def _percentile(values: Sequence[float], pct: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(0, min(len(ordered) - 1, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


@dataclass
class Report:
    label: str
    results: list[Result] = field(default_factory=list)

    def _answerable(self) -> list[Result]:
        return [r for r in self.results if r.question.expect == "answer"]

    def _must_handoff(self) -> list[Result]:
        return [r for r in self.results if r.question.expect == "handoff"]

    @property
    def grounded_rate(self) -> float:
        answerable = self._answerable()
        return sum(r.grounded for r in answerable) / len(answerable) if answerable else 0.0

    @property
    def handoff_rate(self) -> float:
        must = self._must_handoff()
        return sum(r.handed_off for r in must) / len(must) if must else 0.0

    @property
    def citation_precision(self) -> float:
        right = total = 0
        for r in self.results:
            for title in r.cited:
                total += 1
                right += r.question.expect == "answer" and title == r.question.source
        return right / total if total else 1.0

    def lines(self, *, targets: bool) -> list[str]:
        answerable, must = self._answerable(), self._must_handoff()
        latencies = [r.latency_s * 1000 for r in self.results]
        tenants = sorted({r.tenant for r in self.results})
        out = [
            f"{self.label}: {len(self.results)} questions over {len(tenants)} tenants "
            f"({len(answerable)} answerable, {len(must)} must-handoff)",
            f"  grounded-answer rate   {self.grounded_rate:6.1%}"
            + (self._verdict(self.grounded_rate, "grounded") if targets else ""),
            f"  correct-handoff rate   {self.handoff_rate:6.1%}"
            + (self._verdict(self.handoff_rate, "handoff") if targets else ""),
            f"  citation precision     {self.citation_precision:6.1%}",
            f"  clarifying questions   {sum(r.outcome == 'clarification' for r in self.results)}",
            f"  latency (decision)     p50 {_percentile(latencies, 50):.1f} ms, "
            f"p95 {_percentile(latencies, 95):.1f} ms, max {max(latencies):.1f} ms",
        ]
        for tenant in tenants:
            mine = Report(self.label, [r for r in self.results if r.tenant == tenant])
            out.append(
                f"    {tenant:16} grounded {mine.grounded_rate:6.1%}  "
                f"handoff {mine.handoff_rate:6.1%}  precision {mine.citation_precision:6.1%}"
            )
        misses = [
            r
            for r in self.results
            if (r.question.expect == "answer" and not r.grounded)
            or (r.question.expect == "handoff" and not r.handed_off)
        ]
        if misses:
            out.append("  misses:")
            for r in misses:
                got = f"{r.outcome} citing {', '.join(r.cited) or 'nothing'}"
                want = (
                    f"answer from {r.question.source!r} with {list(r.question.facts)}"
                    if r.question.expect == "answer"
                    else f"handoff ({r.question.why})"
                )
                out.append(f"    [{r.tenant}] {r.question.text!r}: got {got}; wanted {want}")
        return out

    @staticmethod
    def _verdict(value: float, target: str) -> str:
        goal = TARGETS[target]
        return f"   target >= {goal:.0%}: {'met' if value >= goal else 'NOT MET'}"


@asynccontextmanager
async def service_database(
    infra: Infrastructure, name: str, suffix: str
) -> AsyncIterator[ServiceDatabase]:
    """A migrated database of service `name` of its own (dropped at the end), for tools
    that run services outside pytest (`make eval`, benchmarks)."""
    spec = service(name)
    db = spec.database(
        host=infra.postgres_host,
        port=infra.postgres_port,
        passwords={"owner": secrets.token_urlsafe(16), "app": secrets.token_urlsafe(16)},
        suffix=suffix,
    )
    await prepare_database(infra.postgres_admin_dsn, spec, db)
    try:
        yield db
    finally:
        await drop(infra.postgres_admin_dsn, db)


@dataclass
class Services:
    """The knowledge and ai services the set runs against."""

    knowledge: RunningApp
    knowledge_settings: Any
    ai: RunningApp
    ai_settings: Any


def tenant_id(run: str, tenant: str) -> uuid.UUID:
    return uuid.uuid5(NAMESPACE, f"{run}:{tenant}")


def owner(tenant: uuid.UUID) -> Principal:
    return Principal(tenant_id=tenant, role=Role.OWNER, user_id=uuid.uuid4())


async def load_knowledge(services: Services, tenant: uuid.UUID, documents: Sequence[Any]) -> None:
    """Upload a tenant's documents through the knowledge API and wait until indexed."""
    headers = principal_headers(services.knowledge_settings, owner(tenant))
    client = services.knowledge.client
    ids = []
    for title, text in documents:
        response = await client.post(
            "/api/v1/knowledge/documents", headers=headers, json={"title": title, "text": text}
        )
        response.raise_for_status()
        ids.append(response.json()["id"])

    async def indexed() -> bool:
        for document_id in ids:
            state = (
                await client.get(f"/api/v1/knowledge/documents/{document_id}", headers=headers)
            ).json()["state"]
            if state == "failed":
                raise RuntimeError(f"document {document_id} failed to index")
            if state != "ready":
                return False
        return True

    await eventually(indexed, timeout_s=120)


async def configure(
    services: Services, tenant: uuid.UUID, business_name: str, provider: dict[str, Any]
) -> None:
    """PUT the tenant's AI settings (the provider under evaluation)."""
    response = await services.ai.client.put(
        "/api/v1/ai/settings",
        headers=principal_headers(services.ai_settings, owner(tenant)),
        json={"business_name": business_name, **provider},
    )
    if response.status_code != 200:
        raise RuntimeError(f"the provider settings were refused: {response.text}")


async def evaluate(
    services: Services,
    sets: Sequence[TenantSet],
    *,
    run: str,
    label: str,
    provider: dict[str, Any],
) -> Report:
    """Ask every question of `sets` (knowledge already loaded for `run`) with `provider`."""
    responder = services.ai.runtime.components.responder
    report = Report(label)
    for tenant_set in sets:
        tenant = tenant_id(run, tenant_set.name)
        await configure(services, tenant, tenant_set.business_name, provider)
        for question in tenant_set.questions:
            started = time.perf_counter()
            with tenant_scope(tenant):
                outcome = await responder.decide(Question(tenant_id=tenant, text=question.text))
            elapsed = time.perf_counter() - started
            decision = outcome.decision
            if isinstance(decision, Answer):
                name, cited, text = (
                    "answer",
                    tuple(p.title for p in decision.citations),
                    decision.text,
                )
            elif isinstance(decision, Clarification):
                name, cited, text = "clarification", (), decision.text
            else:
                assert isinstance(decision, Handoff)
                name, cited, text = f"handoff:{decision.reason.value}", (), decision.detail
            report.results.append(Result(tenant_set.name, question, name, cited, text, elapsed))
    return report


async def load_all(services: Services, sets: Sequence[TenantSet], run: str) -> None:
    for tenant_set in sets:
        await load_knowledge(services, tenant_id(run, tenant_set.name), tenant_set.documents)
