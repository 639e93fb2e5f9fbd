"""Background work declared to the runtime: periodic jobs and supervised tasks."""

from __future__ import annotations

import asyncio

from parley_platform.jobs import RUNS, PeriodicJob, SupervisedTask


def runs(job: str, result: str) -> float:
    return RUNS.labels(job, result)._value.get()


async def test_a_periodic_job_runs_on_schedule_survives_failures_and_stops() -> None:
    calls = 0

    async def job() -> int:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise RuntimeError("database away")
        return calls

    periodic = PeriodicJob("test-periodic", 0.01, job, initial_delay_s=0)
    failed_before = runs("test-periodic", "failed")
    await periodic.start()
    await asyncio.sleep(0.1)
    await periodic.stop()
    seen = calls
    assert seen >= 4  # the failure did not end the schedule
    assert runs("test-periodic", "failed") == failed_before + 1
    await asyncio.sleep(0.03)
    assert calls == seen  # nothing runs after stop
    assert not periodic.running


async def test_a_supervised_task_is_restarted_after_it_fails() -> None:
    starts = 0
    steady = asyncio.Event()

    async def work() -> None:
        nonlocal starts
        starts += 1
        if starts < 3:
            raise ConnectionError("lost the broker")
        steady.set()
        await asyncio.sleep(3600)

    task = SupervisedTask("test-supervised", work, min_pause_s=0.01, max_pause_s=0.02)
    await task.start()
    await asyncio.wait_for(steady.wait(), timeout=2)
    assert starts == 3
    await task.stop()
    assert not task.running


async def test_a_graceful_stop_lets_the_work_finish_its_step() -> None:
    stopping = asyncio.Event()
    finished_cleanly = False

    async def work() -> None:
        nonlocal finished_cleanly
        await stopping.wait()
        await asyncio.sleep(0.01)  # e.g. the batch in flight
        finished_cleanly = True

    task = SupervisedTask("test-graceful", work, request_stop=stopping.set, grace_s=2)
    await task.start()
    await asyncio.sleep(0.01)
    await task.stop()
    assert finished_cleanly


def test_the_restart_pause_grows_while_work_fails_at_once_and_resets_once_it_worked() -> None:
    task = SupervisedTask(
        "test-pauses", lambda: asyncio.sleep(0), min_pause_s=0.5, max_pause_s=30, healthy_after_s=10
    )
    pause = 0.5
    waits = []
    for _ in range(8):  # the broker is down: every run fails within a second
        wait, pause = task.pauses(pause, ran_s=0.2)
        waits.append(wait)
    assert waits == [0.5, 1, 2, 4, 8, 16, 30, 30]
    # It ran for a while (the broker came back), then failed: start from the shortest pause.
    assert task.pauses(pause, ran_s=12) == (0.5, 1)
