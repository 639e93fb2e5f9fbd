"""The chaos suite's customers: businesses seeded through the public API, and a steady stream
of WhatsApp customers writing to them through the sandbox.

Traffic is shaped so that the checker can judge every message: a customer asks a question,
waits for its answer, and only then asks the next one (at most `questions` of them); a
customer whose question was handed to a person, or left unanswered for `answer_wait_s`,
writes nothing more. So no message of ours is ever superseded by a newer one, and each one
must end with exactly one reply or one handoff.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import random
import time
from dataclasses import dataclass, replace
from typing import Any

import httpx

from parley_devstack.chaos.checker import SentMessage
from parley_devstack.demo_knowledge import DOCUMENTS, DOCUMENTS_PATH, load_demo_knowledge
from parley_devstack.seeding import (
    AuthApi,
    Owner,
    Sandbox,
    WhatsAppNumber,
    seed_tenant_with_channel,
)

log = logging.getLogger(__name__)

# Questions the demo knowledge base answers, and some that go to a person.
ANSWERABLE = (
    "when are you open on saturday?",
    "how much does express shipping cost?",
    "can I return unopened coffee?",
    "how much is the monthly coffee subscription?",
    "do you ship to Germany?",
    "what does an espresso cost in the shop?",
)
FOR_A_PERSON = (
    "I want a refund for a broken order, call me",
    "I want to talk to a human please",
)


@dataclass(frozen=True)
class Business:
    """A seeded tenant with one WhatsApp number."""

    owner: Owner
    phone_number_id: str
    uses_llm: bool = False

    @property
    def tenant_id(self) -> str:
        return str(self.owner.tenant_id)

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.owner.access_token}"}

    async def signed_in_again(self, gateway: httpx.AsyncClient) -> Business:
        """The business with a new access token (they live minutes; a run is longer)."""
        for _ in range(10):
            answer = await gateway.post(
                "/api/v1/auth/login",
                json={"email": self.owner.email, "password": self.owner.password},
            )
            if answer.status_code < 500:
                break
            log.warning("sign-in answered %d; trying again", answer.status_code)
            await asyncio.sleep(2)
        answer.raise_for_status()
        return replace(self, owner=replace(self.owner, access_token=answer.json()["access_token"]))


async def seed_businesses(
    gateway: httpx.AsyncClient,
    sandbox: httpx.AsyncClient,
    mailbox: httpx.AsyncClient,
    *,
    count: int,
    llm_count: int,
    llm_base_url: str,
) -> list[Business]:
    """`count` businesses with the demo knowledge base, the last `llm_count` of them answering
    with the LLM stand-in's models (the `local-stub` preset), the others extractively.
    Sign-up links are read from auth's local mailbox (`mailbox`: auth's own API)."""
    businesses = []
    for index in range(count):
        seeded = await seed_tenant_with_channel(
            AuthApi(gateway, keys_patience_s=30, mailbox=mailbox),
            WhatsAppNumber.random(),
            sandbox=Sandbox(sandbox),
            company=f"Chaos Coffee {index}",
        )
        business = Business(
            owner=seeded.owner,
            phone_number_id=seeded.number.phone_number_id,
            uses_llm=index >= count - llm_count,
        )
        await asyncio.to_thread(_load_knowledge, str(gateway.base_url), business.headers)
        if business.uses_llm:
            answer = await gateway.put(
                "/api/v1/ai/settings",
                headers=business.headers,
                json={
                    "provider": "openai-compatible",
                    "preset": "local-stub",
                    "base_url": llm_base_url,
                    # Short, so that a hanging model hands off within the customer's patience.
                    "request_timeout_s": 3,
                },
            )
            answer.raise_for_status()
        businesses.append(business)
    for business in businesses:
        await _wait_for_ready_documents(gateway, business)
    return businesses


def _load_knowledge(base_url: str, headers: dict[str, str]) -> None:
    with httpx.Client(base_url=base_url, timeout=30) as client:
        load_demo_knowledge(client, headers)


async def _wait_for_ready_documents(
    gateway: httpx.AsyncClient, business: Business, timeout_s: float = 300
) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        listing = await gateway.get(DOCUMENTS_PATH, headers=business.headers, params={"limit": 100})
        if listing.status_code == 200:
            body = listing.json()
            items = body.get("items", body) if isinstance(body, dict) else body
            if sum(1 for d in items if d.get("state", "ready") == "ready") >= len(DOCUMENTS):
                return
        await asyncio.sleep(1)
    raise TimeoutError(f"the knowledge of {business.tenant_id} was not ready in {timeout_s}s")


class ReplyWatch:
    """Follows the sandbox's outbox and wakes the customers whose question got a reply."""

    def __init__(self, sandbox: httpx.AsyncClient) -> None:
        self._sandbox = sandbox
        self._after = 0
        self._answered: dict[str, float] = {}
        self._waiting: dict[str, asyncio.Event] = {}

    def expect(self, wamid: str) -> asyncio.Event:
        """An event set when `wamid` gets a reply."""
        event = self._waiting.setdefault(wamid, asyncio.Event())
        if wamid in self._answered:
            event.set()
        return event

    def answered_at(self, wamid: str) -> float | None:
        """When the first reply to `wamid` was sent (sandbox time), if it was."""
        return self._answered.get(wamid)

    async def follow(self, stop: asyncio.Event) -> None:
        """Poll the outbox until `stop` is set."""
        while not stop.is_set():
            try:
                sent = await self._sandbox.get(
                    "/sandbox/outbox", params={"after_sequence": self._after}
                )
                for item in sent.json():
                    self._after = max(self._after, item["sequence"])
                    quoted = (item.get("context") or {}).get("message_id")
                    if item.get("type") == "read" or not quoted:
                        continue
                    self._answered.setdefault(quoted, item["at"])
                    if quoted in self._waiting:
                        self._waiting[quoted].set()
            except httpx.HTTPError:
                log.warning("the sandbox's outbox could not be read; retrying")
            await asyncio.sleep(0.3)


class Customers:
    """The stream of customers writing to the businesses."""

    def __init__(
        self,
        sandbox: httpx.AsyncClient,
        businesses: list[Business],
        replies: ReplyWatch,
        *,
        questions: int,
        answer_wait_s: float,
        seed: int,
    ) -> None:
        self._sandbox = sandbox
        self._businesses = businesses
        self._replies = replies
        self._questions = questions
        self._answer_wait_s = answer_wait_s
        self._random = random.Random(seed)
        self._numbers = itertools.count(1)
        self._tasks: set[asyncio.Task[None]] = set()
        self.sent: list[SentMessage] = []
        self.send_errors = 0

    def _new_customer(self) -> str:
        return f"3519{next(self._numbers):08d}"

    async def write(self, business: Business, customer: str, text: str) -> SentMessage | None:
        """One customer message through the sandbox (which posts the webhook); None when
        the sandbox itself did not take it."""
        try:
            answer = await self._sandbox.post(
                f"/sandbox/customers/{customer}/messages",
                json={"phone_number_id": business.phone_number_id, "text": text},
            )
            answer.raise_for_status()
        except httpx.HTTPError:
            self.send_errors += 1
            return None
        message = SentMessage(answer.json()["wamid"], business.tenant_id, customer, time.time())
        self.sent.append(message)
        return message

    async def _customer(self, business: Business) -> None:
        customer = self._new_customer()
        for _ in range(self._questions):
            for_a_person = self._random.random() < 0.15
            text = self._random.choice(FOR_A_PERSON if for_a_person else ANSWERABLE)
            message = await self.write(business, customer, text)
            if message is None or for_a_person:
                return
            try:
                await asyncio.wait_for(
                    self._replies.expect(message.wamid).wait(), self._answer_wait_s
                )
            except TimeoutError:
                return  # handed off, or still waiting: this customer writes nothing more

    async def stream(self, rate_per_s: float, stop: asyncio.Event) -> None:
        """New customers at `rate_per_s` / `questions` a second (about `rate_per_s` messages a
        second) until `stop` is set; returns once every customer finished."""
        interval = self._questions / rate_per_s
        for business in itertools.cycle(self._businesses):
            if stop.is_set():
                break
            task = asyncio.create_task(self._customer(business))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            try:
                await asyncio.wait_for(stop.wait(), interval)
            except TimeoutError:
                pass
        if self._tasks:
            await asyncio.gather(*self._tasks)

    async def probe(self, business: Business, patience_s: float, every_s: float = 5.0) -> Any:
        """Ask fresh questions (one every `every_s`, each from a new customer) until one is
        answered; the time of that answer (sandbox clock), or None after `patience_s`."""
        deadline = time.monotonic() + patience_s
        asked: list[str] = []
        while time.monotonic() < deadline:
            message = await self.write(
                business, self._new_customer(), self._random.choice(ANSWERABLE)
            )
            if message is not None:
                asked.append(message.wamid)
            waited_until = time.monotonic() + every_s
            while time.monotonic() < min(waited_until, deadline):
                times = [t for w in asked if (t := self._replies.answered_at(w)) is not None]
                if times:
                    return min(times)
                await asyncio.sleep(0.3)
        return None
