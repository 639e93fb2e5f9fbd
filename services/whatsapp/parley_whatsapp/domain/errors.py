"""What to do about each Cloud API error code (WHATSAPP.md §5), and how long to wait before
trying again, decided in one place.

Meta says to act on the numeric code, never on the HTTP status or the title.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum


class Disposition(StrEnum):
    """The sender's reaction to an error code."""

    RETRY = "retry"  # transient on Meta's side: back off with jitter, bounded
    THROTTLED = "throttled"  # throughput or API-call limit: back off, pace harder
    PAIR_LIMITED = "pair_limited"  # too many to this one user: wait 4^x seconds
    WINDOW_CLOSED = "window_closed"  # 24 hours since the customer wrote: needs a template
    RECONNECT = "reconnect"  # the token was rejected: the tenant must reconnect the channel
    PERMANENT = "permanent"  # retrying cannot help: fail with Meta's reason


_BY_CODE: dict[int, Disposition] = {
    130429: Disposition.THROTTLED,  # per-number throughput
    4: Disposition.THROTTLED,  # app-level call rate
    80007: Disposition.THROTTLED,  # WABA-level call rate
    131056: Disposition.PAIR_LIMITED,
    131047: Disposition.WINDOW_CLOSED,
    190: Disposition.RECONNECT,
    1: Disposition.RETRY,
    2: Disposition.RETRY,
    131000: Disposition.RETRY,
    131016: Disposition.RETRY,
    131057: Disposition.RETRY,  # maintenance, e.g. a throughput upgrade (about a minute)
    133004: Disposition.RETRY,
}
# Everything else is permanent, deliberately including 131048 (spam limit: a quality stop,
# retrying makes it worse), 131049 (per-user marketing limit: only after 24 h, beyond any
# retry budget), 131026 (undeliverable), 131050 (user opted out), 130403, 368, 131031,
# 130497, 131042, the auth and permission codes and every bad-request code, and codes Meta
# adds later: an unknown failure should surface, not loop.


def classify(code: int) -> Disposition:
    """The disposition of a Cloud API error code."""
    return _BY_CODE.get(code, Disposition.PERMANENT)


def is_retryable(disposition: Disposition) -> bool:
    """Whether a disposition is worth another attempt (within the bounds)."""
    return disposition in (Disposition.RETRY, Disposition.THROTTLED, Disposition.PAIR_LIMITED)


# uniform(low, high): the jitter source (random.uniform; tests give a fixed one).
Jitter = Callable[[float, float], float]


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently one send is tried again."""

    max_attempts: int
    initial_backoff_s: float
    max_backoff_s: float

    def delay(
        self, disposition: Disposition, attempt: int, jitter: Jitter = random.uniform
    ) -> float:
        """Delay before attempt `attempt + 1`: Meta's 4^x seconds for the pair limit,
        exponential otherwise; always with jitter, so that replicas do not retry in step."""
        if disposition == Disposition.PAIR_LIMITED:
            return min(self.max_backoff_s, 4 ** (attempt - 1)) * jitter(1.0, 1.2)
        ceiling = min(self.max_backoff_s, self.initial_backoff_s * 2 ** (attempt - 1))
        return ceiling * jitter(0.5, 1.0)

    def next_delay(
        self,
        disposition: Disposition,
        attempt: int,
        remaining_s: float,
        jitter: Jitter = random.uniform,
    ) -> float | None:
        """The delay before another attempt after attempt `attempt` failed with a retryable
        `disposition`, or None when the bounds say stop: the attempts are used up, or the
        wait would outlast the `remaining_s` of the time budget."""
        if attempt >= self.max_attempts:
            return None
        delay = self.delay(disposition, attempt, jitter)
        return delay if delay <= remaining_s else None
