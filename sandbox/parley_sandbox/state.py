"""The sandbox's memory: registered business numbers, customers' last messages (the 24-hour
window), what the platform sent (the outbox), injected faults, media files and the limits'
counters.

It lives in memory on purpose: the sandbox stands in for Meta, it is not Parley's
infrastructure, and a restart is a clean slate.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import random
import secrets
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Template:
    """An approved message template: name, language and how many body parameters it takes."""

    name: str
    language: str = "en_US"
    body_parameters: int = 0


DEFAULT_TEMPLATES = (Template("hello_world", "en_US", 0), Template("follow_up", "en_US", 1))


@dataclass
class BusinessNumber:
    """A registered business phone number and how it talks to the platform."""

    phone_number_id: str
    waba_id: str
    display_phone_number: str
    access_token: str
    app_secret: str
    webhook_url: str
    messages_per_second: int
    templates: list[Template] = field(default_factory=lambda: list(DEFAULT_TEMPLATES))
    verified_name: str = "Sandbox Business"

    def template(self, name: str, language: str) -> Template | None:
        """The approved template of that name and language, if any."""
        return next((t for t in self.templates if t.name == name and t.language == language), None)

    def graph_view(self) -> dict[str, Any]:
        """The number as the Graph API shows it (`GET /{phone-number-id}`)."""
        return {
            "id": self.phone_number_id,
            "display_phone_number": self.display_phone_number,
            "verified_name": self.verified_name,
            "code_verification_status": "VERIFIED",
            "quality_rating": "GREEN",
            "platform_type": "CLOUD_API",
            "throughput": {"level": "STANDARD"},
        }

    def public(self) -> dict[str, Any]:
        """What the control API shows (no token, no secret)."""
        return {
            "phone_number_id": self.phone_number_id,
            "waba_id": self.waba_id,
            "display_phone_number": self.display_phone_number,
            "webhook_url": self.webhook_url,
            "messages_per_second": self.messages_per_second,
            "templates": [t.__dict__ for t in self.templates],
        }


@dataclass
class AppSubscription:
    """An app subscribed to a WABA's webhooks (`POST /{waba-id}/subscribed_apps`), with the
    callback override it asked for, if any."""

    override_callback_uri: str | None = None
    verify_token: str | None = field(default=None, repr=False)
    subscribed_at: float = field(default_factory=time.time)


@dataclass
class Fault:
    """An injected failure for one number's requests (or every number's)."""

    id: int
    phone_number_id: str | None
    code: int | None = None  # Graph error code to answer with
    latency_ms: int = 0
    timeout: bool = False  # hold the request until the client gives up
    accept: bool = False  # with code/timeout: the message is still delivered (lost response)
    remaining: int | None = None  # None: until cleared
    probability: float = 1.0

    def applies_to(self, phone_number_id: str) -> bool:
        """Whether this fault is for that number and not used up."""
        return self.phone_number_id in (None, phone_number_id) and self.remaining != 0


@dataclass
class Media:
    """A media file a simulated customer sent."""

    media_id: str
    phone_number_id: str
    mime_type: str
    content: bytes

    @property
    def sha256(self) -> str:
        """Base64 SHA-256 of the file, as current Meta payloads carry it."""
        return base64.b64encode(hashlib.sha256(self.content).digest()).decode()


class SlidingWindow:
    """Timestamps of the last second, to count requests per second exactly."""

    def __init__(self, window_s: float = 1.0) -> None:
        self._window_s = window_s
        self._times: deque[float] = deque()

    def count(self, now: float) -> int:
        """Timestamps within the window ending at `now`."""
        while self._times and self._times[0] <= now - self._window_s:
            self._times.popleft()
        return len(self._times)

    def add(self, now: float) -> None:
        """Record one event at `now`."""
        self._times.append(now)


class PairBucket:
    """Meta's pair limit for one (business number, user): a token bucket."""

    def __init__(self, rate: float, burst: int) -> None:
        self._rate = rate
        self._burst = float(burst)
        self._tokens = float(burst)
        self._at = time.monotonic()

    def take(self) -> bool:
        """Take one message's worth; False when the pair limit is reached."""
        now = time.monotonic()
        self._tokens = min(self._burst, self._tokens + (now - self._at) * self._rate)
        self._at = now
        if self._tokens >= 1:
            self._tokens -= 1
            return True
        return False


@dataclass
class NumberTraffic:
    """What one number's Cloud API endpoint saw: every request's arrival and the busiest
    second, for tests and benchmarks that check the platform stays within the limit."""

    arrivals: SlidingWindow = field(default_factory=SlidingWindow)
    accepted_window: SlidingWindow = field(default_factory=SlidingWindow)
    requests: int = 0
    accepted: int = 0
    rejected: dict[int, int] = field(default_factory=dict)
    max_requests_in_1s: int = 0
    first_at: float | None = None
    last_at: float | None = None

    def record_arrival(self, now: float) -> None:
        """Count a request and update the busiest second seen."""
        self.requests += 1
        self.arrivals.add(now)
        self.max_requests_in_1s = max(self.max_requests_in_1s, self.arrivals.count(now))
        self.first_at = self.first_at if self.first_at is not None else now
        self.last_at = now

    def public(self) -> dict[str, Any]:
        """The figures as the control API shows them."""
        return {
            "requests": self.requests,
            "accepted": self.accepted,
            "rejected": {str(k): v for k, v in sorted(self.rejected.items())},
            "max_requests_in_1s": self.max_requests_in_1s,
            "first_at": self.first_at,
            "last_at": self.last_at,
        }


class SandboxState:
    """Everything the sandbox remembers."""

    def __init__(self, *, seed: int | None, outbox_capacity: int) -> None:
        self.random = random.Random(seed)
        self.numbers: dict[str, BusinessNumber] = {}
        # WABA id -> the app subscription (Embedded Signup step 2)
        self.subscriptions: dict[str, AppSubscription] = {}
        self.traffic: dict[str, NumberTraffic] = {}
        # (phone_number_id, customer wa_id) -> monotonic time of the customer's last message
        self.last_inbound: dict[tuple[str, str], float] = {}
        # every message exchanged, both ways, for the outbox API and the chat page
        self.outbox: deque[dict[str, Any]] = deque(maxlen=outbox_capacity)
        self.inbound: deque[dict[str, Any]] = deque(maxlen=outbox_capacity)
        # wamid of each customer message -> the customer who sent it (read receipts)
        self.inbound_senders: dict[str, str] = {}
        self.faults: list[Fault] = []
        self.media: dict[str, Media] = {}
        self.webhook_log: deque[dict[str, Any]] = deque(maxlen=outbox_capacity)
        self._pair_buckets: dict[tuple[str, str], PairBucket] = {}
        self._fault_ids = itertools.count(1)
        self._sequence = itertools.count(1)

    def next_sequence(self) -> int:
        """A number that orders every recorded message and webhook attempt."""
        return next(self._sequence)

    def register(self, number: BusinessNumber) -> None:
        """Serve `number` (replacing an earlier registration of it)."""
        self.numbers[number.phone_number_id] = number
        self.traffic.setdefault(number.phone_number_id, NumberTraffic())

    def numbers_of_waba(self, waba_id: str) -> list[BusinessNumber]:
        """The business numbers that belong to one WhatsApp Business Account."""
        return [n for n in self.numbers.values() if n.waba_id == waba_id]

    def pair_allows(self, phone_number_id: str, recipient: str, rate: float, burst: int) -> bool:
        """Whether one more message to `recipient` fits Meta's pair limit now."""
        bucket = self._pair_buckets.setdefault(
            (phone_number_id, recipient), PairBucket(rate, burst)
        )
        return bucket.take()

    def add_fault(self, **spec: Any) -> Fault:
        """Inject a fault (see `Fault`)."""
        fault = Fault(id=next(self._fault_ids), **spec)
        self.faults.append(fault)
        return fault

    def clear_faults(self, phone_number_id: str | None = None) -> int:
        """Remove one number's faults, or all; returns how many were removed."""
        before = len(self.faults)
        if phone_number_id is None:
            self.faults = []
        else:
            self.faults = [f for f in self.faults if f.phone_number_id != phone_number_id]
        return before - len(self.faults)

    def draw_fault(self, phone_number_id: str) -> Fault | None:
        """The first fault that fires for this request (and counts it down)."""
        for fault in self.faults:
            if not fault.applies_to(phone_number_id):
                continue
            if fault.probability < 1 and self.random.random() >= fault.probability:
                continue
            if fault.remaining is not None:
                fault.remaining -= 1
            return fault
        return None

    def new_media_id(self) -> str:
        """A numeric media id shaped like Meta's."""
        return str(10**15 + secrets.randbelow(9 * 10**15))
