"""The shared look-up cache: expiry, negative caching, single flight, bounds, errors."""

from __future__ import annotations

import asyncio
from functools import partial

import pytest
from parley_platform.cache import Found, TtlCache


class Backend:
    """Counts look-ups; answers from a dict (None: not found)."""

    def __init__(self, values: dict[str, str | None]) -> None:
        self.values = values
        self.calls: list[str] = []
        self.gate: asyncio.Event | None = None

    async def load(self, key: str) -> str | None:
        self.calls.append(key)
        if self.gate is not None:
            await self.gate.wait()
        return self.values.get(key)


async def test_a_value_is_looked_up_once_until_it_expires() -> None:
    backend = Backend({"a": "1"})
    cache: TtlCache[str, str] = TtlCache(ttl_s=0.05, negative_ttl_s=0.05)
    assert await cache.get("a", lambda: backend.load("a")) == "1"
    assert await cache.get("a", lambda: backend.load("a")) == "1"
    assert backend.calls == ["a"]
    await asyncio.sleep(0.06)
    await cache.get("a", lambda: backend.load("a"))
    assert backend.calls == ["a", "a"]


async def test_not_found_is_remembered_for_the_shorter_negative_time() -> None:
    backend = Backend({})
    cache: TtlCache[str, str] = TtlCache(ttl_s=60, negative_ttl_s=0.05)
    assert await cache.get("x", lambda: backend.load("x")) is None
    assert await cache.get("x", lambda: backend.load("x")) is None
    assert backend.calls == ["x"]
    await asyncio.sleep(0.06)
    await cache.get("x", lambda: backend.load("x"))
    assert backend.calls == ["x", "x"]


async def test_concurrent_misses_share_one_look_up_even_if_a_caller_gives_up() -> None:
    backend = Backend({"a": "1"})
    backend.gate = asyncio.Event()
    cache: TtlCache[str, str] = TtlCache(ttl_s=60, negative_ttl_s=1)
    waiters = [asyncio.create_task(cache.get("a", lambda: backend.load("a"))) for _ in range(10)]
    await asyncio.sleep(0.01)
    waiters[0].cancel()  # a client that went away
    backend.gate.set()
    results = await asyncio.gather(*waiters[1:])
    assert results == ["1"] * 9
    assert backend.calls == ["a"]


async def test_a_failed_look_up_reaches_every_waiter_and_is_not_cached() -> None:
    cache: TtlCache[str, str] = TtlCache(ttl_s=60, negative_ttl_s=60)
    calls = 0

    async def failing() -> str:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.01)
        raise ConnectionError("auth is down")

    results = await asyncio.gather(
        cache.get("a", failing), cache.get("a", failing), return_exceptions=True
    )
    assert all(isinstance(r, ConnectionError) for r in results)
    assert calls == 1
    with pytest.raises(ConnectionError):
        await cache.get("a", failing)
    assert calls == 2


async def test_the_least_recently_used_entries_go_first_beyond_the_bound() -> None:
    backend = Backend({k: k.upper() for k in "abcd"})
    cache: TtlCache[str, str] = TtlCache(ttl_s=60, negative_ttl_s=60, max_entries=3)
    for key in "abc":
        await cache.get(key, partial(backend.load, key))
    await cache.get("a", lambda: backend.load("a"))  # a is used again: b is now the oldest
    await cache.get("d", lambda: backend.load("d"))
    assert len(cache) == 3
    assert cache.peek("b") == (False, None)
    assert cache.peek("a") == (True, "A")


async def test_a_loader_can_shorten_an_entrys_life_and_entries_can_be_forgotten() -> None:
    cache: TtlCache[tuple[str, str], str] = TtlCache(ttl_s=60, negative_ttl_s=60)

    async def short_lived() -> Found[str]:
        return Found("key", ttl_s=0.02)

    await cache.get(("t1", "k"), short_lived)
    assert cache.peek(("t1", "k")) == (True, "key")
    await asyncio.sleep(0.03)
    assert cache.peek(("t1", "k")) == (False, None)

    async def value() -> str:
        return "v"

    await cache.get(("t1", "c1"), value)
    await cache.get(("t2", "c1"), value)
    cache.invalidate_where(lambda key: key[0] == "t1")
    assert cache.peek(("t1", "c1")) == (False, None)
    assert cache.peek(("t2", "c1")) == (True, "v")
