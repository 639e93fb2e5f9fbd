"""Rate limits hold across replicas because the bucket lives in Redis."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager

import pytest
from parley_platform.ratelimit import Limit, RateLimiter, tenant_key
from redis.asyncio import Redis


@pytest.fixture
async def redis(infra):
    client = Redis.from_url(infra.redis_url)
    yield client
    await client.aclose()


@pytest.fixture
async def two_replicas(redis, infra) -> AsyncIterator[list[RateLimiter]]:
    """The same limiter in two replicas: two processes' own Redis connections."""
    other_replica = Redis.from_url(infra.redis_url)
    yield [RateLimiter(redis, "send"), RateLimiter(other_replica, "send")]
    await other_replica.aclose()


async def with_a_late_leaver(
    replicas: list[RateLimiter], window: Callable[[RateLimiter], AbstractAsyncContextManager[None]]
) -> tuple[list[float], list[float]]:
    """Seven requests through `window` (3 per 0.5 s), alternating replicas; the first is let
    in at once but leaves only 0.4 s later (delayed on its way out: a busy event loop).
    Returns when each was let in and when each left, in order, from the start."""
    started = time.monotonic()
    entered: list[float] = []
    left: list[float] = []

    async def send(limiter: RateLimiter, delay_s: float) -> None:
        async with window(limiter):
            entered.append(time.monotonic() - started)
            await asyncio.sleep(delay_s)
            left.append(time.monotonic() - started)

    await asyncio.gather(send(replicas[0], 0.4), *(send(replicas[i % 2], 0.0) for i in range(1, 7)))
    return sorted(entered), sorted(left)


def assert_never_more_than_3_left_in_half_a_second_after_the_late_leaver(left: list[float]) -> None:
    for i, start in enumerate(left):
        assert sum(1 for t in left[i:] if t - start < 0.5) <= 3
    # The fourth and later requests waited until half a second after the late leaver left,
    # not after it was let in: it held its place in the window.
    assert max(left) >= 0.9


async def test_a_burst_is_allowed_then_the_caller_is_told_when_to_retry(redis) -> None:
    limiter = RateLimiter(redis, "login")
    key = tenant_key(uuid.uuid4(), "account", "ana@example.com")
    limit = Limit.per(3, 60)  # 3 attempts a minute
    decisions = [await limiter.try_acquire(key, limit) for _ in range(4)]
    assert [d.allowed for d in decisions] == [True, True, True, False]
    assert 0 < decisions[-1].retry_after_s <= 20
    await limiter.reset(key)
    assert (await limiter.try_acquire(key, limit)).allowed


async def test_two_replicas_together_never_exceed_the_rate(two_replicas) -> None:
    key = tenant_key(uuid.uuid4(), "number", "1555000")
    limit = Limit(rate=20, burst=2)
    granted: list[float] = []

    async def worker(limiter: RateLimiter) -> None:
        for _ in range(15):
            await limiter.acquire(key, limit)
            granted.append(time.monotonic())

    await asyncio.gather(*(worker(limiter) for limiter in two_replicas))
    granted.sort()
    # In any one-second window: at most rate + burst sends (plus one for clock granularity).
    for i, start in enumerate(granted):
        in_window = sum(1 for t in granted[i:] if t - start < 1.0)
        assert in_window <= limit.rate + limit.burst + 1


async def test_a_caller_can_refuse_to_wait_too_long(redis) -> None:
    limiter = RateLimiter(redis, "pair")
    key = tenant_key(uuid.uuid4(), "pair", "447700900123")
    limit = Limit.per(1, 6)  # Meta's pair limit: one message per 6 s
    assert await limiter.acquire(key, limit, max_wait_s=1) == 0
    with pytest.raises(TimeoutError):
        await limiter.acquire(key, limit, max_wait_s=1)


async def test_several_buckets_give_all_or_nothing_and_say_what_is_left(redis) -> None:
    limiter = RateLimiter(redis, "api")
    tenant, key = tenant_key(uuid.uuid4(), "tenant"), tenant_key(uuid.uuid4(), "key")
    buckets = [(tenant, Limit.per(5, 60)), (key, Limit.per(2, 60))]
    first = await limiter.try_acquire_all(buckets)
    assert first.allowed and first.remaining == (4, 1)
    assert (await limiter.try_acquire_all(buckets)).remaining == (3, 0)
    refused = await limiter.try_acquire_all(buckets)
    assert not refused.allowed and 0 < refused.retry_after_s <= 30
    # The refusal took nothing from the bucket that still had tokens.
    assert (await limiter.try_acquire(tenant, Limit.per(5, 60))).remaining == (2,)


async def test_looking_takes_nothing_and_giving_back_never_exceeds_the_burst(redis) -> None:
    limiter = RateLimiter(redis, "login")
    key = tenant_key(uuid.uuid4(), "failures")
    limit = Limit.per(2, 60)
    assert (await limiter.check_all([(key, limit)])).remaining == (2,)
    await limiter.try_acquire(key, limit)
    await limiter.try_acquire(key, limit)
    looked = await limiter.check_all([(key, limit)])
    assert not looked.allowed and looked.remaining == (0,)
    await limiter.give_back([(key, limit)])
    assert (await limiter.check_all([(key, limit)])).allowed
    await limiter.give_back([(key, limit)], cost=5)
    assert (await limiter.check_all([(key, limit)])).remaining == (2,)


async def test_a_sliding_window_counts_requests_until_they_left_however_late(two_replicas) -> None:
    key = tenant_key(uuid.uuid4(), "number", "1555001")
    _, left = await with_a_late_leaver(
        two_replicas, lambda limiter: limiter.sliding_window(key, 3, 0.5)
    )
    assert_never_more_than_3_left_in_half_a_second_after_the_late_leaver(left)


async def test_a_paced_window_spaces_requests_and_counts_them_until_they_left(two_replicas) -> None:
    key = tenant_key(uuid.uuid4(), "number", "1555002")
    pace = Limit(rate=40, burst=1)
    entered, left = await with_a_late_leaver(
        two_replicas, lambda limiter: limiter.paced_window(key, pace, 3, 0.5)
    )
    assert_never_more_than_3_left_in_half_a_second_after_the_late_leaver(left)
    first, second, third = entered[:3]  # let in at their slots, the window had room
    # Paced: 40/s, one at a time, however the replicas interleave.
    assert second - first >= 0.02 and third - second >= 0.02


async def test_a_paced_window_given_up_while_waiting_frees_its_place(redis) -> None:
    limiter = RateLimiter(redis, "send")
    key = tenant_key(uuid.uuid4(), "number", "1555003")
    pace = Limit(rate=1, burst=1)
    async with limiter.paced_window(key, pace, 2, 30.0):
        pass  # one of the window's two places is taken for 30 s from here
    # The next slot is a second away.
    waiting = asyncio.create_task(limiter.paced_window(key, pace, 2, 30.0).__aenter__())
    await asyncio.sleep(0.2)
    waiting.cancel()  # e.g. the process stops: this request never leaves
    with pytest.raises(asyncio.CancelledError):
        await waiting
    # Its place is free again: the next request goes at its slot, not 30 s later.
    async with asyncio.timeout(10):
        async with limiter.paced_window(key, pace, 2, 30.0):
            pass
