"""One chaos run: bring a platform up, seed businesses, stream customers, inject the faults
one after another (each followed by a probe question that shows when the platform answers
again), let it calm down, collect what happened and judge it."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from parley_devstack.chaos import observe
from parley_devstack.chaos.checker import (
    FaultFigures,
    FaultWindow,
    LagSample,
    Observations,
    Verdict,
    figures_per_fault,
    judge,
)
from parley_devstack.chaos.faults import Fault, FaultContext
from parley_devstack.chaos.platform import ChaosPlatform
from parley_devstack.chaos.traffic import Business, Customers, ReplyWatch, seed_businesses

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Plan:
    """How big and how long a run is."""

    faults: list[Fault]
    businesses: int = 8
    llm_businesses: int = 3
    rate_per_s: float = 1.5  # customer messages a second, about
    questions: int = 2  # per customer, each after the previous one's answer
    answer_wait_s: float = 90.0  # a customer's patience
    warm_up_s: float = 30.0
    gap_s: float = 15.0  # quiet time after a fault recovered, before the next
    probe_patience_s: float = 240.0
    calm_s: float = 60.0  # traffic goes on after the last fault (lag must reach 0 in 30 s)
    seed: int = 16


@dataclass
class Run:
    """A finished run: the verdict, its rows, and facts about the run."""

    verdict: Verdict
    rows: list[FaultFigures]
    context: dict[str, Any]
    # (seconds after the last fault ended, total lag), for the report's JSON
    lag_timeline: list[tuple[float, int]]


def _load() -> str:
    one, five, _ = os.getloadavg()
    return f"{one:.1f} (1 min) / {five:.1f} (5 min) on {os.cpu_count()} CPUs"


async def execute(plan: Plan, platform: ChaosPlatform) -> Run:
    """Run `plan` against a started `platform`."""
    started = time.time()
    loads = [_load()]
    async with (
        httpx.AsyncClient(base_url=platform.gateway_url, timeout=30) as gateway,
        httpx.AsyncClient(base_url=platform.sandbox_url, timeout=30) as sandbox,
        httpx.AsyncClient(base_url=platform.llm_stub_url, timeout=10) as llm_stub,
        httpx.AsyncClient(base_url=platform.auth_url, timeout=10) as mailbox,
    ):
        log.info("seeding %d businesses", plan.businesses)
        businesses = await seed_businesses(
            gateway,
            sandbox,
            mailbox,
            count=plan.businesses,
            llm_count=plan.llm_businesses,
            llm_base_url=f"{platform.llm_stub_url}/v1",
        )
        replies = ReplyWatch(sandbox)
        customers = Customers(
            sandbox,
            businesses,
            replies,
            questions=plan.questions,
            answer_wait_s=plan.answer_wait_s,
            seed=plan.seed,
        )
        stop_watching, stop_traffic = asyncio.Event(), asyncio.Event()
        lag: list[LagSample] = []
        bootstrap = platform.stack.kafka.bootstrap
        background = [
            asyncio.create_task(replies.follow(stop_watching)),
            asyncio.create_task(observe.sample_lag(bootstrap, lag, stop_watching)),
        ]
        traffic = asyncio.create_task(customers.stream(plan.rate_per_s, stop_traffic))
        await asyncio.sleep(plan.warm_up_s)

        windows = await _inject_all(plan, platform, sandbox, llm_stub, customers, businesses)
        loads.append(_load())
        await asyncio.sleep(plan.calm_s)
        stop_traffic.set()
        log.info("faults over; waiting for the last customers")
        await traffic
        # Let every last answer, handoff and redelivery land before reading the results.
        await _settle(bootstrap)
        stop_watching.set()
        await asyncio.gather(*background)

        seen = await _collect(gateway, sandbox, bootstrap, businesses, customers, lag, windows)
    verdict = judge(seen)
    context = {
        "businesses": f"{plan.businesses} ({plan.llm_businesses} on the LLM stand-in)",
        "customer messages a second (target)": plan.rate_per_s,
        "run time": f"{(time.time() - started) / 60:.1f} min",
        "machine load average (start, end of faults)": " → ".join(loads),
        "sandbox did not take a message": customers.send_errors,
        "webhook attempts not answered 200": verdict.webhook_attempts_failed,
        "services restarted by make run": len(
            [line for line in platform.restarts_reported() if "exited" in line]
        ),
    }
    ended = max((w.ended_at for w in seen.faults), default=started)
    timeline = [(round(s.at - ended, 1), s.lag) for s in lag if s.at >= ended - 10]
    return Run(verdict, figures_per_fault(seen, verdict), context, timeline)


async def _inject_all(
    plan: Plan,
    platform: ChaosPlatform,
    sandbox: httpx.AsyncClient,
    llm_stub: httpx.AsyncClient,
    customers: Customers,
    businesses: list[Business],
) -> list[FaultWindow]:
    context = FaultContext(platform, sandbox, llm_stub)
    probe_business = {
        "extractive": next(b for b in businesses if not b.uses_llm),
        "llm": next((b for b in businesses if b.uses_llm), businesses[0]),
    }
    windows = []
    for fault in plan.faults:
        log.info("fault: %s", fault.name)
        began, ended = await fault.run(context)
        answered = await customers.probe(probe_business[fault.probe], plan.probe_patience_s)
        window = FaultWindow(fault.name, began, ended, answered)
        log.info("  recovered in %s s", window.recovery_s)
        windows.append(window)
        await asyncio.sleep(plan.gap_s)
    return windows


async def _settle(bootstrap: str, timeout_s: float = 180) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if (await observe.consumer_offsets(bootstrap)).lag == 0:
                break
        except Exception:
            log.debug("lag not read", exc_info=True)
        await asyncio.sleep(2)
    await asyncio.sleep(5)  # status webhooks and sends that follow the last events


async def _collect(
    gateway: httpx.AsyncClient,
    sandbox: httpx.AsyncClient,
    bootstrap: str,
    businesses: list[Business],
    customers: Customers,
    lag: list[LagSample],
    windows: list[FaultWindow],
) -> Observations:
    businesses = [await b.signed_in_again(gateway) for b in businesses]
    replies = await observe.outbox_replies(sandbox)
    owners = {m.wamid: (m.tenant, m.customer) for m in customers.sent}
    duplicated = observe.customers_with_duplicates(replies, owners)
    return Observations(
        sent=list(customers.sent),
        webhook_attempts=await observe.webhook_attempts(sandbox),
        outbox_replies=replies,
        recorded_replies=await observe.recorded_replies(gateway, businesses, duplicated),
        handed_off=await observe.handed_off(gateway, businesses),
        dead_letters=await observe.dead_letters(bootstrap),
        lag_samples=lag,
        faults=windows,
    )


def run(plan: Plan, state_dir: Path, port_offset: int) -> Run:
    """Start a platform in `state_dir` on ports shifted by `port_offset`, run `plan` against
    it, and stop it."""
    platform = ChaosPlatform(state_dir, port_offset)
    log.info("starting the platform in %s (ports +%d)", state_dir, port_offset)
    platform.start()
    try:
        return asyncio.run(execute(plan, platform))
    finally:
        log.info("stopping the platform")
        platform.stop()
