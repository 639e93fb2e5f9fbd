"""What the stand-in has been told to do wrong, and what it was asked.

A fault applies to chat completions of one model (or of every model), a number of times or
until cleared. The first matching fault wins, in the order they were added.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import deque
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class FaultMode(StrEnum):
    ERROR_500 = "error_500"  # HTTP 500 with an OpenAI-shaped error
    RATE_LIMIT = "rate_limit"  # HTTP 429 with Retry-After
    HANG = "hang"  # no answer until released (or `delay_s`)
    SLOW = "slow"  # a correct answer after `delay_s`
    MALFORMED_JSON = "malformed_json"  # 200 with a body that is not JSON
    NO_CITATION = "no_citation"  # a plausible answer that cites nothing
    FOREIGN_LINK = "foreign_link"  # a cited answer with a link not in any passage
    LEAK_INSTRUCTIONS = "leak_instructions"  # repeats its system prompt


@dataclass
class Fault:
    id: int
    mode: FaultMode
    model: str | None = None  # None: every model
    remaining: int | None = None  # None: until cleared
    retry_after_s: float = 1.0
    delay_s: float = 600.0

    def matches(self, model: str) -> bool:
        return (self.model is None or self.model == model) and (
            self.remaining is None or self.remaining > 0
        )

    def view(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "mode": self.mode.value,
            "model": self.model,
            "remaining": self.remaining,
            "retry_after_s": self.retry_after_s,
            "delay_s": self.delay_s,
        }


@dataclass
class RecordedRequest:
    at: float
    model: str
    messages: list[dict[str, str]]
    outcome: str

    def view(self) -> dict[str, Any]:
        return {
            "at": self.at,
            "model": self.model,
            "messages": self.messages,
            "outcome": self.outcome,
        }


@dataclass
class FaultBook:
    """The faults in force, the requests received, and the keys and models accepted."""

    faults: list[Fault] = field(default_factory=list)
    requests: deque[RecordedRequest] = field(default_factory=lambda: deque(maxlen=5000))
    api_keys: list[str] = field(default_factory=list)
    models: list[str] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _release: asyncio.Event = field(default_factory=asyncio.Event)

    def add(self, mode: FaultMode, **options: Any) -> Fault:
        fault = Fault(next(self._ids), mode, **options)
        self.faults.append(fault)
        return fault

    def take(self, model: str) -> Fault | None:
        """The fault for the next request to `model` (counting it down), if any."""
        for fault in self.faults:
            if fault.matches(model):
                if fault.remaining is not None:
                    fault.remaining -= 1
                return fault
        return None

    def clear(self) -> None:
        """Remove every fault and release every hanging request."""
        self.faults.clear()
        self._release.set()
        self._release = asyncio.Event()

    async def hang(self, seconds: float) -> None:
        """Wait `seconds`, or until the faults are cleared or the server stops."""
        release = self._release
        try:
            await asyncio.wait_for(release.wait(), timeout=seconds)
        except TimeoutError:
            pass

    def record(self, model: str, messages: list[dict[str, str]], outcome: str) -> None:
        self.requests.append(RecordedRequest(time.time(), model, messages, outcome))
