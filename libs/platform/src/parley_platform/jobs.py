"""Background work a service declares to its runtime instead of writing its own loops.

- `PeriodicJob`: run a coroutine every `interval_s` (pruning, housekeeping).
- `SupervisedTask`: keep a long-running coroutine alive (the outbox relay, a live feed): when
  it fails it is restarted after a growing pause.

Both log each failure with its job name, count runs by result
(`parley_background_runs_total{job,result}`), and stop cleanly: `stop()` cancels the work
and waits for it, so no task outlives the service.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable

from prometheus_client import Counter, Histogram

from parley_platform.metrics import LATENCY_BUCKETS

log = logging.getLogger(__name__)

RUNS = Counter(
    "parley_background_runs_total",
    "Runs of periodic jobs and restarts of supervised tasks, by result",
    ["job", "result"],
)
DURATION = Histogram(
    "parley_background_run_seconds",
    "Duration of one periodic job run",
    ["job"],
    buckets=LATENCY_BUCKETS,
)


class BackgroundWork:
    """Something a runtime starts after the service is wired and stops before it closes."""

    name: str

    async def start(self) -> None:
        raise NotImplementedError

    async def stop(self) -> None:
        raise NotImplementedError


class _TaskOwner(BackgroundWork):
    def __init__(self, name: str) -> None:
        self.name = name
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=self.name)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def _run(self) -> None:
        raise NotImplementedError


class PeriodicJob(_TaskOwner):
    """Runs `job()` every `interval_s` (first after `initial_delay_s`; default: a random
    part of one interval, so that replicas do not all run at once)."""

    def __init__(
        self,
        name: str,
        interval_s: float,
        job: Callable[[], Awaitable[object]],
        *,
        initial_delay_s: float | None = None,
    ) -> None:
        super().__init__(name)
        if interval_s <= 0:
            raise ValueError(f"{name}: interval must be positive")
        self.interval_s = interval_s
        self._job = job
        self._initial_delay_s = (
            initial_delay_s if initial_delay_s is not None else random.uniform(0, interval_s)
        )

    async def run_once(self) -> object:
        """One run, as the schedule does it (tests call this to avoid waiting)."""
        started = time.perf_counter()
        try:
            result = await self._job()
        except Exception:
            RUNS.labels(self.name, "failed").inc()
            log.warning(
                "background job failed; it runs again later",
                exc_info=True,
                extra={"job": self.name},
            )
            return None
        DURATION.labels(self.name).observe(time.perf_counter() - started)
        RUNS.labels(self.name, "ok").inc()
        if result:
            log.info("background job done", extra={"job": self.name, "result": result})
        return result

    async def _run(self) -> None:
        await asyncio.sleep(self._initial_delay_s)
        while True:
            await self.run_once()
            await asyncio.sleep(self.interval_s)


class SupervisedTask(_TaskOwner):
    """Keeps `work()` running: if it returns or raises, it starts again after a pause that
    doubles from `min_pause_s` up to `max_pause_s` while it keeps failing at once; a run that
    lasted `healthy_after_s` was working, so the next failure pauses `min_pause_s` again.

    (The chaos suite found a minute too long for that reset: after a Kafka restart had grown
    the outbox relay's pause, PostgreSQL cutting its connection half a minute later kept the
    relay, and so every reply, waiting 16 s.)

    With `request_stop`, stopping is graceful: `request_stop()` asks the work to wind down
    and `stop()` waits up to `grace_s` for it to return before cancelling it."""

    def __init__(
        self,
        name: str,
        work: Callable[[], Awaitable[None]],
        *,
        request_stop: Callable[[], None] | None = None,
        grace_s: float = 10.0,
        min_pause_s: float = 0.5,
        max_pause_s: float = 30.0,
        healthy_after_s: float = 10.0,
    ) -> None:
        super().__init__(name)
        self._work = work
        self._healthy_after_s = healthy_after_s
        self._request_stop = request_stop
        self._grace_s = grace_s
        self._min_pause_s = min_pause_s
        self._max_pause_s = max_pause_s
        self._stopping = False

    async def start(self) -> None:
        self._stopping = False
        await super().start()

    async def stop(self) -> None:
        self._stopping = True
        if self._task is not None and self._request_stop is not None:
            self._request_stop()
            with contextlib.suppress(TimeoutError, asyncio.CancelledError, Exception):
                await asyncio.wait_for(asyncio.shield(self._task), timeout=self._grace_s)
        await super().stop()

    async def _run(self) -> None:
        pause = self._min_pause_s
        while not self._stopping:
            started = time.monotonic()
            try:
                await self._work()
                if self._stopping:
                    return
                RUNS.labels(self.name, "returned").inc()
            except Exception:
                RUNS.labels(self.name, "failed").inc()
                log.warning(
                    "background task failed; restarting", exc_info=True, extra={"job": self.name}
                )
            wait, pause = self.pauses(pause, time.monotonic() - started)
            await asyncio.sleep(wait * random.uniform(0.8, 1.2))

    def pauses(self, pause: float, ran_s: float) -> tuple[float, float]:
        """After a run of `ran_s` seconds with `pause` as the current pause: how long to wait
        now (before jitter), and the pause after the next run if it fails at once too."""
        if ran_s >= self._healthy_after_s:
            pause = self._min_pause_s
        return pause, min(pause * 2, self._max_pause_s)
