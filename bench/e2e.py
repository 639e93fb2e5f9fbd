"""End to end: a customer's WhatsApp message through the whole platform to the Cloud API send
of its answer.

Every service runs as its own process (auth, knowledge, conversation, ai with the extractive
answerer, whatsapp, gateway; log level INFO), with the WhatsApp sandbox as Meta, on a durable
PostgreSQL and a Kafka node of the benchmark's own (bench/infra.py). A business with a number
(1,000 messages/s, Meta's highest tier, so that Meta's limit is not what is measured) and the
demo knowledge base is set up through the public API. Customers then write at a fixed rate
for a fixed time, each a new customer (so no answer supersedes another and no pair limit
applies) asking a question the knowledge base answers: the sandbox signs each message and
POSTs the webhook to the gateway, as Meta does; the platform answers; the sandbox records the
Cloud API send of each answer (with `--statuses` it also sends the delivery statuses back, as
Meta does, three more webhooks per message that the platform takes in too; off by default:
the sandbox, one Python process, is no Meta, and at 200 messages/s it would have to send 800
webhooks/s on the same two cores).

Latency is from the moment the customer's message is handed to the sandbox (which delivers
the webhook at once) to the moment the sandbox receives the answer's Cloud API request, both
on this machine's clock. Lost: a message with no answer 30 s after the last one was sent;
duplicated: a customer who got more than one answer; errors: a webhook the gateway did not
answer with 2xx (never counted as served). Each service's CPU per message is its process's
CPU time over the phase divided by the messages sent.

    make bench BENCH_ARGS="e2e"                          # 5/s baseline, then 50, 100, 200/s
    make bench BENCH_ARGS="e2e --rates 100 --seconds 30 --write-docs"
    make bench BENCH_ARGS="e2e --rates 50 100 --statements"  # what PostgreSQL ran per message

Baseline (same run): the same path at `--baseline-rate` (5/s), where nothing queues.
Targets: at 100 messages/s, p50 < 40 ms and p99 < 150 ms; zero lost and zero duplicated at
every rate. `--write-docs` puts the table and a plot (docs/images/e2e_latency.png) into
docs/performance.md between its e2e markers.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import itertools
import os
import secrets
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import httpx
import uvloop
from aiokafka import AIOKafkaConsumer, TopicPartition
from parley_devstack.demo_knowledge import load_demo_knowledge
from parley_devstack.services import SERVICES, service
from parley_testing.services import free_port

from bench.infra import (
    StatementCensus,
    add_postgres_option,
    infrastructure_cpu_seconds,
    load_average,
    met,
)
from bench.stats import percentile
from bench.whatsapp_stack import BenchStack, Process, bench_stack, env_json

# Questions the demo knowledge base answers (a handoff would send no answer to time).
QUESTIONS = (
    "When are you open on Saturday?",
    "How much does express shipping cost?",
    "Can I return an opened bag of coffee?",
    "How much is the monthly subscription?",
)
TARGET_RATE = 100.0
TARGET_P50_S = 0.040
TARGET_P99_S = 0.150
SETTLE_S = 30.0
DRAIN_S = 180.0
NUMBER_RATE = 1000
DOCS = Path(__file__).resolve().parents[1] / "docs"
BEGIN_MARK, END_MARK = "<!-- e2e:begin -->", "<!-- e2e:end -->"


@dataclass
class Phase:
    """One rate's results."""

    rate: float
    seconds: float
    sent: int = 0
    errors: int = 0
    latencies_s: list[float] = field(default_factory=list)
    lost: int = 0
    never_answered: int = 0  # still unanswered when the drain after the phase gave up
    duplicated: int = 0
    late_sends_s: list[float] = field(default_factory=list)  # generator lag behind schedule
    cpu_s: dict[str, float] = field(default_factory=dict)  # our services (and the sandbox)
    infra_cpu_s: dict[str, float] = field(default_factory=dict)  # PostgreSQL, Kafka, ...
    load: str = ""
    answered_at: list[float] = field(default_factory=list)
    customers: list[str] = field(default_factory=list)
    hops_ms: dict[str, float] = field(default_factory=dict)  # median of each hop

    @property
    def throughput(self) -> float:
        """Answers per second over the span from the first to the last answer."""
        if len(self.answered_at) < 2:
            return float("nan")
        return (len(self.answered_at) - 1) / (max(self.answered_at) - min(self.answered_at))

    def p(self, pct: float) -> float:
        return percentile(self.latencies_s, pct) if self.latencies_s else float("nan")


class Platform:
    """The whole platform as child processes, and the sandbox's address."""

    def __init__(self, stack: BenchStack, *, statuses: bool) -> None:
        self.stack = stack
        self.statuses = statuses
        self.app_secret = secrets.token_urlsafe(32)
        self.ports = {spec.name: free_port() for spec in SERVICES}
        self.sandbox_port = free_port()
        self.phone_number_id = ""
        self.tenant = ""
        # Free ports for every service, in the variables parley_devstack's wiring reads, so
        # that each service is pointed at the others as `make run` points them.
        for spec in SERVICES:
            os.environ[f"{spec.env_prefix()}HTTP_PORT"] = str(self.ports[spec.name])
            if spec.port("grpc_port"):
                os.environ[f"{spec.env_prefix()}GRPC_PORT"] = str(free_port())

    async def start_service(self, name: str, extra: dict[str, str] | None = None) -> Process:
        env = {**self.stack.common_env(name), **service(name).wiring(), **(extra or {})}
        if service(name).migrations_dir() is not None:
            env[f"PARLEY_{name.upper()}_DATABASE_URL"] = await self.stack.database_url(name)
        return await self.stack.start(
            name,
            f"parley_{name}",
            env,
            grpc=bool(service(name).port("grpc_port")),
            http_port=self.ports[name],
            grpc_port=service(name).port("grpc_port") or None,
        )

    async def start(self) -> None:
        """Every process, then a business with a number and the demo knowledge base."""
        sandbox_url = f"http://127.0.0.1:{self.sandbox_port}"
        gateway_url = f"http://127.0.0.1:{self.ports['gateway']}"
        await self.stack.start(
            "sandbox",
            "parley_sandbox",
            {
                "PARLEY_SANDBOX_HTTP_PORT": str(self.sandbox_port),
                "PARLEY_SANDBOX_PUBLIC_BASE_URL": sandbox_url,
                "PARLEY_SANDBOX_DEFAULT_APP_SECRET": self.app_secret,
                "PARLEY_SANDBOX_DEFAULT_WEBHOOK_URL": f"{gateway_url}/webhooks/whatsapp",
                # Meta's stand-in, not the platform: its own request log would cost CPU here.
                "PARLEY_SANDBOX_LOG_LEVEL": "WARNING",
                "PARLEY_SANDBOX_STATUS_WEBHOOKS": str(self.statuses).lower(),
            },
            http_port=self.sandbox_port,
        )
        await self.start_service(
            "auth",
            {
                "PARLEY_AUTH_ENCRYPTION_KEY": secrets.token_urlsafe(32),
                # Numbers are verified with Meta (the sandbox) as they connect.
                "PARLEY_AUTH_GRAPH_API_BASE_URL": sandbox_url,
            },
        )
        await self.start_service("knowledge")
        await self.start_service("conversation")
        await self.start_service("ai", {"PARLEY_AI_ENCRYPTION_KEY": secrets.token_urlsafe(32)})
        await self.start_service(
            "whatsapp",
            {
                "PARLEY_WHATSAPP_GRAPH_API_BASE_URL": sandbox_url,
                "PARLEY_WHATSAPP_MEDIA_DOWNLOAD_HOST_SUFFIXES": env_json([]),
            },
        )
        await self.start_service("gateway", {"PARLEY_GATEWAY_WHATSAPP_APP_SECRET": self.app_secret})
        await self.seed(sandbox_url, gateway_url)

    async def seed(self, sandbox_url: str, gateway_url: str) -> None:
        from parley_devstack.seeding import (
            AuthApi,
            Sandbox,
            WhatsAppNumber,
            seed_tenant_with_channel,
        )

        number = WhatsAppNumber.random(messages_per_second=NUMBER_RATE)
        async with (
            httpx.AsyncClient(base_url=gateway_url, timeout=20) as api,
            httpx.AsyncClient(base_url=sandbox_url, timeout=10) as meta,
            # The sign-up link arrives in auth's local mailbox.
            httpx.AsyncClient(base_url=f"http://127.0.0.1:{self.ports['auth']}") as mailbox,
        ):
            seeded = await seed_tenant_with_channel(
                AuthApi(api, keys_patience_s=30, mailbox=mailbox),
                number,
                sandbox=Sandbox(meta),
                company=f"Bench {self.stack.tag}",
                email=f"{self.stack.tag}@example.com",
            )
        self.phone_number_id = number.phone_number_id
        self.tenant = str(seeded.tenant_id)
        headers = {"Authorization": f"Bearer {seeded.owner.access_token}"}
        with httpx.Client(base_url=gateway_url, timeout=30) as client:
            await asyncio.to_thread(load_demo_knowledge, client, headers)
        async with httpx.AsyncClient(base_url=gateway_url, timeout=30) as api:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                page = (await api.get("/api/v1/knowledge/documents", headers=headers)).json()
                items = page["items"] if isinstance(page, dict) else page
                if items and all(d["state"] == "ready" for d in items):
                    return
                await asyncio.sleep(0.5)
        raise SystemExit("the demo knowledge base was not indexed in time")


class Customers:
    """Writes as new customers through the sandbox and matches the answers it records."""

    def __init__(self, sandbox: aiohttp.ClientSession, phone_number_id: str) -> None:
        self.sandbox = sandbox
        self.phone_number_id = phone_number_id
        self._next_customer = 447700000000 + secrets.randbelow(10**6) * 1000
        self.sent_at: dict[str, float] = {}
        self.answers: Counter[str] = Counter()
        self.answered_at: dict[str, float] = {}
        self._after_sequence = 0

    async def write(self, question: str, phase: Phase, scheduled: float) -> None:
        self._next_customer += 1
        customer = str(self._next_customer)
        phase.late_sends_s.append(time.perf_counter() - scheduled)
        self.sent_at[customer] = time.time()
        phase.sent += 1
        try:
            async with self.sandbox.post(
                f"/sandbox/customers/{customer}/messages",
                json={"phone_number_id": self.phone_number_id, "text": question, "name": "Bench"},
            ) as response:
                accepted = (
                    response.status == 200 and (await response.json())["webhook_status"] == 200
                )
        except (TimeoutError, aiohttp.ClientError):
            accepted = False  # counted as an error, whichever side dropped it
        if not accepted:
            phase.errors += 1
            self.sent_at.pop(customer, None)  # not accepted: no answer is owed

    async def collect(self) -> None:
        """Read the sandbox's new outbox entries: each text to a customer is an answer."""
        try:
            async with self.sandbox.get(
                "/sandbox/outbox",
                params={
                    "phone_number_id": self.phone_number_id,
                    "after_sequence": self._after_sequence,
                },
            ) as response:
                entries = await response.json()
        except (TimeoutError, aiohttp.ClientError):
            return  # the sandbox is busy: read again next time (its arrival times are kept)
        for entry in entries:
            self._after_sequence = max(self._after_sequence, entry["sequence"])
            if entry["type"] != "text" or entry["recipient"] not in self.sent_at:
                continue
            self.answers[entry["recipient"]] += 1
            self.answered_at.setdefault(entry["recipient"], entry["at"])

    def outstanding(self, customers: list[str]) -> int:
        return sum(1 for c in customers if c not in self.answered_at)


async def run_phase(customers: Customers, stack: BenchStack, rate: float, seconds: float) -> Phase:
    """Write at `rate` for `seconds`, then wait for the answers."""
    phase = Phase(rate, seconds)
    count = max(1, round(rate * seconds))
    first = customers._next_customer + 1
    cpu_before = stack.cpu_seconds()
    infra_before = infrastructure_cpu_seconds(stack.infra)
    tasks = []
    started = time.perf_counter()
    for i in range(count):
        scheduled = started + i / rate
        if (delay := scheduled - time.perf_counter()) > 0:
            await asyncio.sleep(delay)
        tasks.append(
            asyncio.create_task(customers.write(QUESTIONS[i % len(QUESTIONS)], phase, scheduled))
        )
        if i % max(1, int(rate)) == 0:
            await customers.collect()
    await asyncio.gather(*tasks)
    mine = [str(c) for c in range(first, first + count) if str(c) in customers.sent_at]
    phase.customers = mine
    # An answer counts if it came within SETTLE_S of the last message; later ones are lost.
    horizon = time.time() + SETTLE_S
    deadline = time.monotonic() + SETTLE_S
    while customers.outstanding(mine) and time.monotonic() < deadline:
        await customers.collect()
        await asyncio.sleep(0.5)
    await asyncio.sleep(1.0)  # a duplicate would come right after the first answer
    await customers.collect()
    phase.lost = customers.outstanding(mine)
    # Let the backlog of a saturated phase clear (answers after SETTLE_S still count as lost)
    # before the next phase starts, so that phases do not share it.
    deadline = time.monotonic() + DRAIN_S
    while customers.outstanding(mine) and time.monotonic() < deadline:
        await asyncio.sleep(1.0)
        await customers.collect()
    phase.never_answered = customers.outstanding(mine)
    cpu_after = stack.cpu_seconds()
    infra_after = infrastructure_cpu_seconds(stack.infra)
    phase.load = load_average()
    phase.cpu_s = {name: cpu_after[name] - cpu_before.get(name, 0.0) for name in cpu_after}
    phase.infra_cpu_s = {
        name: infra_after[name] - infra_before.get(name, 0.0) for name in infra_after
    }
    for customer in mine:
        answered = customers.answered_at.get(customer)
        if answered is not None and answered <= horizon:
            phase.latencies_s.append(answered - customers.sent_at[customer])
            phase.answered_at.append(answered)
        phase.duplicated += customers.answers[customer] > 1
    return phase


# The hops of one message, by the Kafka records each step wrote (their producer timestamps):
# webhook handed over -> the gateway's inbound event -> conversation's AI request (through
# its outbox) -> ai's reply (through its outbox) -> conversation's send command -> the Cloud
# API request's arrival at the sandbox.
HOP_TOPICS = (
    ("gateway: webhook -> inbound event", "whatsapp.inbound.v1"),
    ("conversation: -> AI request", "conversation.ai-requested.v1"),
    ("ai + knowledge: -> reply", "ai.reply.v1"),
    ("conversation: -> send command", "whatsapp.outbound.v1"),
)
LAST_HOP = "whatsapp: -> Cloud API request arrives"


async def last_timestamps(bootstrap: str, topic: str) -> dict[str, float]:
    """The latest record timestamp (s) of each key of `topic`, read from the beginning."""
    reader = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False)
    await reader.start()
    try:
        # The consumer's own metadata covers only topics it was given; ask for all of them.
        cluster = await reader._client.fetch_all_metadata()
        partitions = [TopicPartition(topic, p) for p in cluster.partitions_for_topic(topic) or ()]
        if not partitions:
            return {}
        reader.assign(partitions)
        await reader.seek_to_beginning(*partitions)
        ends = await reader.end_offsets(partitions)
        latest: dict[str, float] = {}
        while any([await reader.position(tp) < ends[tp] for tp in partitions]):
            for records in (await reader.getmany(timeout_ms=500)).values():
                for record in records:
                    key = (record.key or b"").decode()
                    latest[key] = max(latest.get(key, 0.0), record.timestamp / 1000)
        return latest
    finally:
        await reader.stop()


async def hop_breakdown(
    stack: BenchStack, tenant: str, customers: Customers, phase: Phase
) -> dict[str, float]:
    """Median time of each hop for the phase's answered messages (ms)."""
    stamps = []
    for _, topic in HOP_TOPICS:
        stamps.append(await last_timestamps(stack.kafka_bootstrap, stack.topic_prefix + topic))
    hops: dict[str, list[float]] = {}
    for customer in phase.customers:
        if customer not in customers.answered_at:
            continue
        key = f"{tenant}:{customer}"
        times = [customers.sent_at[customer], *(s.get(key) for s in stamps)]
        times.append(customers.answered_at[customer])
        if any(t is None for t in times):
            continue
        names = [*(name for name, _ in HOP_TOPICS), LAST_HOP]
        for name, (a, b) in zip(names, itertools.pairwise(times), strict=True):
            hops.setdefault(name, []).append((b - a) * 1000)  # type: ignore[operator]
    return {name: percentile(values, 50) for name, values in hops.items()}


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f}"


def report(baseline: Phase, phases: list[Phase], describe: str) -> tuple[str, bool]:
    """The printed report and whether every target was met."""
    out = [
        f"end to end: sandbox -> gateway -> conversation -> ai (extractive) -> knowledge -> "
        f"whatsapp -> sandbox; every service one process, log level INFO; {describe}",
    ]
    all_met = True
    for phase in [baseline, *phases]:
        per_message = {
            name: cpu / phase.sent * 1000 for name, cpu in sorted(phase.cpu_s.items()) if phase.sent
        }
        out.append(
            f"  {phase.rate:.0f}/s for {phase.seconds:.0f} s: sent {phase.sent}, errors "
            f"{phase.errors}, answered {len(phase.latencies_s)} ({phase.throughput:.1f}/s), "
            f"lost {phase.lost} (never answered within {DRAIN_S:.0f} s more: "
            f"{phase.never_answered}), duplicated {phase.duplicated}; {phase.load}"
        )
        out.append(
            f"    webhook -> Cloud API send: p50 {_ms(phase.p(50))} ms, p95 {_ms(phase.p(95))} ms, "
            f"p99 {_ms(phase.p(99))} ms, max {_ms(max(phase.latencies_s, default=float('nan')))} ms"
            f"; load generator behind schedule p99 {_ms(percentile(phase.late_sends_s, 99))} ms"
        )
        if phase.hops_ms:
            out.append(
                "    median of each hop (ms): "
                + "; ".join(f"{name} {value:.0f}" for name, value in phase.hops_ms.items())
            )
        out.append(
            "    CPU per message (ms): "
            + ", ".join(f"{name} {value:.1f}" for name, value in per_message.items())
            + f"; all {sum(per_message.values()):.1f}"
        )
        infra = {name: cpu / phase.sent * 1000 for name, cpu in phase.infra_cpu_s.items()}
        out.append(
            "    infrastructure CPU per message (ms): "
            + ", ".join(f"{name} {value:.1f}" for name, value in infra.items())
            + f"; machine total {sum(per_message.values()) + sum(infra.values()):.1f} "
            f"(two cores give {2000 / max(phase.rate, 1e-9):.1f} per message at this rate)"
        )
        if phase is baseline:
            continue
        out.append(
            f"    vs baseline {baseline.rate:.0f}/s: p50 x{phase.p(50) / baseline.p(50):.2f}, "
            f"p99 x{phase.p(99) / baseline.p(99):.2f}"
        )
        clean = phase.lost == 0 and phase.duplicated == 0 and phase.errors == 0
        all_met &= clean
        out.append(f"    target zero lost, zero duplicated, zero errors: {met(clean)}")
        if phase.rate == TARGET_RATE:
            p50_ok, p99_ok = phase.p(50) < TARGET_P50_S, phase.p(99) < TARGET_P99_S
            all_met &= p50_ok and p99_ok
            out.append(
                f"    target p50 < {_ms(TARGET_P50_S)} ms: {met(p50_ok)}; "
                f"p99 < {_ms(TARGET_P99_S)} ms: {met(p99_ok)}"
            )
    return "\n".join(out), all_met


def plot(baseline: Phase, phases: list[Phase], path: Path, describe: str) -> None:
    """Latency distribution per rate (empirical CDF) and percentiles against rate."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (cdf, pcts) = plt.subplots(1, 2, figsize=(11, 4.2))
    for phase in [baseline, *phases]:
        ms = sorted(v * 1000 for v in phase.latencies_s)
        if ms:
            cdf.plot(ms, [(i + 1) / len(ms) for i in range(len(ms))], label=f"{phase.rate:.0f}/s")
    cdf.set_xscale("log")
    cdf.set_xlabel("webhook -> Cloud API send (ms, log scale)")
    cdf.set_ylabel("share of messages answered within")
    cdf.axvline(TARGET_P50_S * 1000, color="grey", linestyle=":", linewidth=1)
    cdf.axvline(TARGET_P99_S * 1000, color="grey", linestyle="--", linewidth=1)
    cdf.legend(title="rate")
    cdf.grid(True, which="both", alpha=0.3)
    rates = [p.rate for p in [baseline, *phases]]
    for pct, style in ((50, "o-"), (95, "s-"), (99, "^-")):
        pcts.plot(rates, [p.p(pct) * 1000 for p in [baseline, *phases]], style, label=f"p{pct}")
    pcts.axhline(TARGET_P50_S * 1000, color="grey", linestyle=":", linewidth=1, label="p50 target")
    pcts.axhline(TARGET_P99_S * 1000, color="grey", linestyle="--", linewidth=1, label="p99 target")
    pcts.set_yscale("log")
    pcts.set_xlabel("customer messages per second")
    pcts.set_ylabel("latency (ms, log scale)")
    pcts.legend()
    pcts.grid(True, which="both", alpha=0.3)
    figure.suptitle(f"Parley end to end, one 2-core machine; {describe}", fontsize=9)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)


def markdown(baseline: Phase, phases: list[Phase], describe: str) -> str:
    """The docs' table of this run."""
    today = dt.date.today().isoformat()
    services = sorted({name for p in [baseline, *phases] for name in p.cpu_s})
    lines = [
        f"Run of {today}; {describe}.",
        "",
        "| rate | sent | errors | answered/s | lost (never answered) | dup. | p50 | p95 | p99 "
        "| load avg (1 min) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for p in [baseline, *phases]:
        label = f"{p.rate:.0f}/s" + (" (baseline)" if p is baseline else "")
        lines.append(
            f"| {label} | {p.sent} | {p.errors} | {p.throughput:.1f} | "
            f"{p.lost} ({p.never_answered}) | {p.duplicated} | "
            f"{_ms(p.p(50))} ms | {_ms(p.p(95))} ms | {_ms(p.p(99))} ms | "
            f"{p.load.split()[2]} |"
        )
    lines += [
        "",
        "CPU per message, ms (each service's process CPU time over the phase / messages sent):",
        "",
        "| rate | " + " | ".join(services) + " | all |",
        "| --- | " + " | ".join("---" for _ in services) + " | --- |",
    ]
    for p in [baseline, *phases]:
        values = [p.cpu_s.get(s, 0.0) / max(1, p.sent) * 1000 for s in services]
        lines.append(
            f"| {p.rate:.0f}/s | "
            + " | ".join(f"{v:.1f}" for v in values)
            + f" | {sum(values):.1f} |"
        )
    infra_names = sorted({name for p in [baseline, *phases] for name in p.infra_cpu_s})
    lines += [
        "",
        "The rest of the machine's CPU per message, ms (PostgreSQL: the server and its "
        "backends; Redis is shared with whatever else ran; the load generator is this "
        "benchmark's own process):",
        "",
        "| rate | " + " | ".join(infra_names) + " | services (above) | machine total "
        "| two cores' budget at this rate |",
        "| --- | " + " | ".join("---" for _ in infra_names) + " | --- | --- | --- |",
    ]
    for p in [baseline, *phases]:
        infra_values = [p.infra_cpu_s.get(n, 0.0) / max(1, p.sent) * 1000 for n in infra_names]
        services_total = sum(p.cpu_s.values()) / max(1, p.sent) * 1000
        lines.append(
            f"| {p.rate:.0f}/s | "
            + " | ".join(f"{v:.1f}" for v in infra_values)
            + f" | {services_total:.1f} | {services_total + sum(infra_values):.1f} "
            f"| {2000 / p.rate:.1f} |"
        )
    lines += ["", "![end-to-end latency](images/e2e_latency.png)"]
    return "\n".join(lines)


def write_docs(text: str) -> None:
    """Replace the text between the e2e markers of docs/performance.md."""
    path = DOCS / "performance.md"
    doc = path.read_text()
    if BEGIN_MARK not in doc or END_MARK not in doc:
        raise SystemExit(f"{path} has no {BEGIN_MARK} ... {END_MARK} section")
    head, rest = doc.split(BEGIN_MARK, 1)
    _, tail = rest.split(END_MARK, 1)
    path.write_text(f"{head}{BEGIN_MARK}\n{text}\n{END_MARK}{tail}")


async def run(
    rates: list[float],
    baseline_rate: float,
    seconds: float,
    *,
    durable: bool,
    docs: bool,
    statuses: bool,
    statements: bool,
) -> bool:
    """Start everything, run the baseline and every rate, report."""
    async with bench_stack(fresh_kafka=True, durable=durable, statement_stats=statements) as stack:
        platform = Platform(stack, statuses=statuses)
        await platform.start()
        describe = stack.bench.describe() + (
            "; delivery statuses sent back" if statuses else "; no delivery statuses"
        )
        # The load generator shares the two cores with the platform: aiohttp costs a fifth of
        # httpx's CPU per request. Idle connections are dropped before the sandbox's server
        # closes them (5 s).
        async with aiohttp.ClientSession(
            base_url=f"http://127.0.0.1:{platform.sandbox_port}",
            timeout=aiohttp.ClientTimeout(total=30),
            connector=aiohttp.TCPConnector(limit=400, keepalive_timeout=1.0),
        ) as sandbox:
            customers = Customers(sandbox, platform.phone_number_id)
            # Warm up: consumer groups formed, caches filled, connections open.
            await run_phase(customers, stack, 5, 4)
            baseline = await run_phase(customers, stack, baseline_rate, seconds)
            baseline.hops_ms = await hop_breakdown(stack, platform.tenant, customers, baseline)
            sys.stdout.write(report(baseline, [], describe)[0] + "\n")
            census = StatementCensus(stack.bench.infra.postgres_admin_dsn) if statements else None
            if census is not None:
                await census.start()
            phases = []
            for rate in rates:
                phases.append(await run_phase(customers, stack, rate, seconds))
                phases[-1].hops_ms = await hop_breakdown(
                    stack, platform.tenant, customers, phases[-1]
                )
                sys.stdout.write(report(baseline, phases[-1:], describe)[0] + "\n")
                sys.stdout.flush()
            if census is not None:
                sys.stdout.write(await census.report(sum(p.sent for p in phases)) + "\n")
    text, all_met = report(baseline, phases, describe)
    sys.stdout.write("summary\n")
    sys.stdout.write(text + "\n")
    if docs:
        plot(baseline, phases, DOCS / "images" / "e2e_latency.png", describe)
        write_docs(markdown(baseline, phases, describe))
        sys.stdout.write("wrote docs/performance.md and docs/images/e2e_latency.png\n")
    return all_met


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rates", type=float, nargs="+", default=[50.0, 100.0, 200.0])
    parser.add_argument("--baseline-rate", type=float, default=5.0)
    parser.add_argument("--seconds", type=float, default=20.0, help="per rate")
    add_postgres_option(parser)
    parser.add_argument("--write-docs", action="store_true")
    parser.add_argument(
        "--statuses",
        action="store_true",
        help="the sandbox sends sent/delivered/read webhooks for every answer, as Meta does "
        "(three more webhooks per message, through the gateway and conversation)",
    )
    parser.add_argument(
        "--statements",
        action="store_true",
        help="load pg_stat_statements and print what PostgreSQL ran per message over the "
        "rates (it costs CPU itself: not for published figures)",
    )
    args = parser.parse_args(argv)
    if args.statements and (args.test_postgres or args.write_docs):
        parser.error("--statements needs the benchmark's own PostgreSQL and no --write-docs")
    uvloop.run(
        run(
            args.rates,
            args.baseline_rate,
            args.seconds,
            durable=not args.test_postgres,
            docs=args.write_docs,
            statuses=args.statuses,
            statements=args.statements,
        )
    )


if __name__ == "__main__":
    main()
