"""The faults the chaos suite injects, each one a small object that starts the fault, holds it
and ends it, returning when it began and ended (wall-clock time, like the sandbox's logs).

Processes are killed the hard way (SIGKILL: no clean-up, no goodbye to Kafka's group) and
`make run`'s supervisor restarts them, as Kubernetes would; the infrastructure is stopped and
started with the same code `make run` uses; the third parties (the WhatsApp sandbox, the LLM
stand-in) are told to misbehave through their control APIs.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal

import asyncpg
import httpx

from parley_devstack.chaos.platform import ChaosPlatform

Probe = Literal["extractive", "llm"]


@dataclass
class FaultContext:
    """What faults act on."""

    platform: ChaosPlatform
    sandbox: httpx.AsyncClient
    llm_stub: httpx.AsyncClient


@dataclass(frozen=True)
class Fault:
    """One fault: `begin` starts it, it lasts `hold_s`, `end` ends it (either may be a no-op).
    `probe` names the kind of tenant whose answers show the platform recovered."""

    name: str
    begin: Callable[[FaultContext], Awaitable[None]]
    end: Callable[[FaultContext], Awaitable[None]]
    hold_s: float = 0.0
    probe: Probe = "extractive"

    async def run(self, context: FaultContext) -> tuple[float, float]:
        """Inject, hold and end the fault; its start and end times."""
        started = time.time()
        await self.begin(context)
        await asyncio.sleep(self.hold_s)
        await self.end(context)
        return started, time.time()


async def _nothing(_: FaultContext) -> None:
    return None


def kill(service: str) -> Fault:
    """SIGKILL a service's process (its handlers stop mid-way); the fault lasts until the
    supervisor restarted it and it is ready again."""
    killed: list[int | None] = []

    async def begin(context: FaultContext) -> None:
        killed.append(context.platform.service_pid(service))
        context.platform.signal_service(service, signal.SIGKILL)

    async def end(context: FaultContext) -> None:
        await _until_restarted(context.platform, service, killed[-1])

    return Fault(f"SIGKILL {service}", begin, end)


async def _until_restarted(
    platform: ChaosPlatform, service: str, old_pid: int | None, timeout_s: float = 180
) -> None:
    """Wait until a new process of `service` runs and answers /readyz."""
    for _ in range(int(timeout_s / 0.25)):
        pid = platform.service_pid(service)
        if (
            pid is not None
            and pid != old_pid
            and await asyncio.to_thread(platform.service_ready, service)
        ):
            return
        await asyncio.sleep(0.25)
    raise TimeoutError(f"{service} was not back within {timeout_s:.0f}s")


def restart_gateway(times: int = 2, every_s: float = 8.0) -> Fault:
    """Stop the gateway (SIGTERM, as a rolling restart does) while webhooks keep arriving,
    `times` times; webhooks it cannot answer are redelivered by the sandbox, like Meta."""

    async def begin(context: FaultContext) -> None:
        for round_ in range(times):
            if round_:
                await asyncio.sleep(every_s)
            pid = context.platform.service_pid("gateway")
            context.platform.signal_service("gateway", signal.SIGTERM)
            await _until_restarted(context.platform, "gateway", pid)

    return Fault(f"restart the gateway x{times}", begin, _nothing)


def _stopped_for_a_while(name: str, component: str, down_s: float) -> Fault:
    """Stop one of the platform's infrastructure components (`kafka`, `postgres`, `redis`)
    for `down_s` and start it again, with the same code `make run` uses (same data)."""

    async def begin(context: FaultContext) -> None:
        await asyncio.to_thread(getattr(context.platform.stack, component).stop)

    async def end(context: FaultContext) -> None:
        await asyncio.to_thread(getattr(context.platform.stack, component).start)

    return Fault(name, begin, end, hold_s=down_s)


def restart_kafka(down_s: float = 10.0) -> Fault:
    """Stop the Kafka broker for `down_s` and start it again."""
    return _stopped_for_a_while("restart the Kafka broker", "kafka", down_s)


def restart_postgres(down_s: float = 5.0) -> Fault:
    """Stop PostgreSQL (fast shutdown: every connection is cut) and start it again."""
    return _stopped_for_a_while("restart PostgreSQL", "postgres", down_s)


def terminate_postgres_connections() -> Fault:
    """`pg_terminate_backend` every service connection (the server stays up)."""

    async def begin(context: FaultContext) -> None:
        connection = await asyncpg.connect(context.platform.stack.postgres.admin_dsn())
        try:
            await connection.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE usename LIKE 'parley\\_%' AND pid <> pg_backend_pid()"
            )
        finally:
            await connection.close()

    return Fault("terminate PostgreSQL connections", begin, _nothing)


def stop_redis(down_s: float = 20.0) -> Fault:
    """Stop Redis for `down_s` (rate limits, breakers, revocation and caches lose it)."""
    return _stopped_for_a_while("stop Redis", "redis", down_s)


def llm_fault(mode: Literal["hang", "error_500"], hold_s: float = 30.0) -> Fault:
    """The LLM stand-in hangs (time-outs) or answers 500 for every request for `hold_s`."""

    async def begin(context: FaultContext) -> None:
        (await context.llm_stub.post("/control/faults", json={"mode": mode})).raise_for_status()

    async def end(context: FaultContext) -> None:
        (await context.llm_stub.delete("/control/faults")).raise_for_status()

    label = "time-outs" if mode == "hang" else "500s"
    return Fault(f"LLM stand-in {label}", begin, end, hold_s=hold_s, probe="llm")


def cloud_api_storm(name: str, hold_s: float = 30.0, **fault: Any) -> Fault:
    """The sandbox answers Cloud API sends with an error (`code`), a lost answer
    (`timeout` + `accept`) ... for a share (`probability`) of requests for `hold_s`."""

    async def begin(context: FaultContext) -> None:
        (await context.sandbox.post("/sandbox/faults", json=fault)).raise_for_status()

    async def end(context: FaultContext) -> None:
        (await context.sandbox.delete("/sandbox/faults")).raise_for_status()

    return Fault(name, begin, end, hold_s=hold_s)


def drop_status_webhooks(share: float = 0.5, hold_s: float = 60.0) -> Fault:
    """The sandbox loses a share of its status webhooks (sent, delivered, read)."""

    async def begin(context: FaultContext) -> None:
        await context.sandbox.patch("/sandbox/behaviour", json={"status_drop_probability": share})

    async def end(context: FaultContext) -> None:
        await context.sandbox.patch("/sandbox/behaviour", json={"status_drop_probability": 0})

    return Fault(f"drop {share:.0%} of status webhooks", begin, end, hold_s=hold_s)


def full_suite() -> list[Fault]:
    """Every fault of the issue, one after another (`make chaos`)."""
    return [
        kill("conversation"),
        kill("ai"),
        kill("knowledge"),
        kill("whatsapp"),
        restart_kafka(),
        terminate_postgres_connections(),
        restart_postgres(),
        stop_redis(),
        llm_fault("hang"),
        llm_fault("error_500"),
        cloud_api_storm("Cloud API 130429 storm", code=130429, probability=0.5),
        cloud_api_storm("Cloud API 131000 storm", code=131000, probability=0.3),
        cloud_api_storm("Cloud API 5xx storm", code=131016, probability=0.3),
        cloud_api_storm("Cloud API lost answers", timeout=True, accept=True, probability=0.2),
        drop_status_webhooks(),
        restart_gateway(),
        # The processes again, now that every other fault has left its traces.
        kill("conversation"),
        kill("whatsapp"),
        kill("ai"),
        kill("knowledge"),
    ]


def short_suite() -> list[Fault]:
    """A few faults, for the version that runs in `make test`."""
    return [
        kill("conversation"),
        cloud_api_storm("Cloud API 131000 storm", hold_s=15, code=131000, probability=0.3),
        kill("ai"),
        llm_fault("error_500", hold_s=15),
        kill("whatsapp"),
    ]


SUITES = {"full": full_suite, "short": short_suite}
