"""A small in-process cache for look-ups made over the network (auth's channel registry, API
keys, send credentials): bounded, time-limited, one look-up per key at a time.

- Entries expire after `ttl_s`, or after the time the loader returns with the value.
- "Not found" (`None`) is cached too, for `negative_ttl_s`, so a flood of unknown keys
  cannot hammer the service behind the cache.
- Concurrent misses of one key share one look-up (single flight), which runs in a task of
  its own: a caller that goes away does not cancel it for the others.
- At most `max_entries` are kept; the least recently used go first.
- A look-up that raises is not cached: every waiter gets the error and the next call asks
  again.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


@dataclass(frozen=True)
class Found(Generic[V]):
    """A loader's answer with its own lifetime (shorter than the cache's `ttl_s`)."""

    value: V
    ttl_s: float


class TtlCache(Generic[K, V]):
    """Bounded TTL cache with negative caching and single-flight loads (module docstring)."""

    def __init__(self, *, ttl_s: float, negative_ttl_s: float, max_entries: int = 10_000) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self._ttl_s = ttl_s
        self._negative_ttl_s = negative_ttl_s
        self._max_entries = max_entries
        self._entries: OrderedDict[K, tuple[float, V | None]] = OrderedDict()
        self._loading: dict[K, asyncio.Task[V | None]] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def peek(self, key: K) -> tuple[bool, V | None]:
        """(True, value) when a fresh entry exists (value may be None: known absent)."""
        entry = self._entries.get(key)
        if entry is None or entry[0] <= time.monotonic():
            return False, None
        self._entries.move_to_end(key)
        return True, entry[1]

    async def get(self, key: K, load: Callable[[], Awaitable[V | Found[V] | None]]) -> V | None:
        """The cached value of `key`, or `await load()` (once, however many callers)."""
        fresh, value = self.peek(key)
        if fresh:
            return value
        task = self._loading.get(key)
        if task is None:
            task = asyncio.create_task(self._load(key, load))
            self._loading[key] = task
            task.add_done_callback(lambda done: self._loaded(key, done))
        return await asyncio.shield(task)

    def invalidate(self, key: K) -> None:
        """Forget `key` (the next get asks again)."""
        self._entries.pop(key, None)

    def invalidate_where(self, predicate: Callable[[K], bool]) -> None:
        """Forget every key for which `predicate` is true."""
        for key in [k for k in self._entries if predicate(k)]:
            del self._entries[key]

    async def _load(self, key: K, load: Callable[[], Awaitable[V | Found[V] | None]]) -> V | None:
        answer = await load()
        if isinstance(answer, Found):
            value: V | None = answer.value
            ttl = min(self._ttl_s, answer.ttl_s)
        else:
            value = answer
            ttl = self._ttl_s if answer is not None else self._negative_ttl_s
        if ttl > 0:
            self._entries[key] = (time.monotonic() + ttl, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self._max_entries:
                self._entries.popitem(last=False)
        return value

    def _loaded(self, key: K, done: asyncio.Task[V | None]) -> None:
        if self._loading.get(key) is done:
            del self._loading[key]
        if not done.cancelled():
            done.exception()  # retrieved here; every waiter re-raises it
