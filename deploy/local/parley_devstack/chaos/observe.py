"""What the chaos suite reads from the platform and the sandbox to judge a run: consumer lag
and dead letters from Kafka, webhook attempts and replies from the sandbox, handoffs and
possible duplicates from Parley's conversation API."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from parley_devstack.chaos.checker import (
    DeadLetter,
    LagSample,
    OutboxReply,
    RecordedReply,
    WebhookAttempt,
)
from parley_devstack.chaos.traffic import Business

log = logging.getLogger(__name__)
DEAD_LETTER_SUFFIX = ".dlq.v1"


async def consumer_offsets(bootstrap: str, groups: set[str] | None = None) -> LagSample:
    """Every consumer group's (or only `groups`') committed offsets on every partition of the
    topics it consumes (a partition it never committed on counts from 0), and the end offsets
    of those partitions."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=5000)
    reader = AIOKafkaConsumer(bootstrap_servers=bootstrap, request_timeout_ms=5000)
    await admin.start()
    try:
        await reader.start()
        committed: dict[tuple[str, TopicPartition], int] = {}
        for group, _ in await admin.list_consumer_groups():
            if groups is not None and group not in groups:
                continue
            offsets = await admin.list_consumer_group_offsets(group)
            topics = sorted({tp.topic for tp in offsets})
            for topic in await admin.describe_topics(topics) if topics else []:
                for partition in topic["partitions"]:
                    tp = TopicPartition(topic["topic"], partition["partition"])
                    committed[(group, tp)] = max(0, offsets[tp].offset if tp in offsets else 0)
        partitions = list({tp for _, tp in committed})
        ends = await reader.end_offsets(partitions) if partitions else {}
        return LagSample(
            time.time(),
            committed={_key(g, tp): offset for (g, tp), offset in committed.items()},
            ends={_key(g, tp): ends[tp] for g, tp in committed},
        )
    finally:
        await reader.stop()
        await admin.close()


def _key(group: str, tp: TopicPartition) -> str:
    return f"{group}/{tp.topic}/{tp.partition}"


async def sample_lag(bootstrap: str, samples: list[LagSample], stop: asyncio.Event) -> None:
    """Record the total lag about once a second until `stop` (nothing while Kafka is down)."""
    while not stop.is_set():
        try:
            samples.append(await asyncio.wait_for(consumer_offsets(bootstrap), 10))
        except Exception:  # Kafka restarting: no sample
            log.debug("lag not sampled", exc_info=True)
        try:
            await asyncio.wait_for(stop.wait(), 1.0)
        except TimeoutError:
            pass


async def dead_letters(bootstrap: str) -> list[DeadLetter]:
    """Every event in a dead-letter topic, with its `dlq-error` header."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10000)
    await admin.start()
    try:
        topics = [t for t in await admin.list_topics() if t.endswith(DEAD_LETTER_SUFFIX)]
        described = await admin.describe_topics(topics) if topics else []
    finally:
        await admin.close()
    partitions = [
        TopicPartition(topic["topic"], p["partition"])
        for topic in described
        for p in topic["partitions"]
    ]
    if not partitions:
        return []
    reader = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, auto_offset_reset="earliest"
    )
    await reader.start()
    found: list[DeadLetter] = []
    try:
        reader.assign(partitions)
        await reader.seek_to_beginning(*partitions)
        ends = await reader.end_offsets(partitions)
        deadline = time.monotonic() + 60
        while [tp for tp in partitions if await reader.position(tp) < ends[tp]]:
            if time.monotonic() > deadline:
                raise TimeoutError("the dead-letter topics could not be read to their end")
            for records in (await reader.getmany(timeout_ms=500)).values():
                for record in records:
                    headers = dict(record.headers or ())
                    reason = headers.get("dlq-error", b"").decode(errors="replace")
                    found.append(DeadLetter(record.topic, reason))
    finally:
        await reader.stop()
    return found


async def webhook_attempts(sandbox: httpx.AsyncClient) -> list[WebhookAttempt]:
    """Every delivery attempt of webhooks carrying customer messages."""
    log_ = (await sandbox.get("/sandbox/webhooks")).json()
    return [
        WebhookAttempt(tuple(w["ids"]), int(w["status"]), float(w["at"]))
        for w in log_
        if w["kind"] == "message"
    ]


async def outbox_replies(sandbox: httpx.AsyncClient) -> list[OutboxReply]:
    """Every message the platform sent that quotes a customer message (read receipts aside)."""
    sent = (await sandbox.get("/sandbox/outbox")).json()
    return [
        OutboxReply(m["context"]["message_id"], float(m["at"]))
        for m in sent
        if m.get("type") != "read" and (m.get("context") or {}).get("message_id")
    ]


async def _pages(gateway: httpx.AsyncClient, path: str, headers: dict[str, str]) -> list[Any]:
    items: list[Any] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 100}
        if cursor:
            params["cursor"] = cursor
        page = await gateway.get(path, headers=headers, params=params)
        page.raise_for_status()
        body = page.json()
        items += body["items"]
        cursor = body.get("next_cursor")
        if not cursor:
            return items


async def handed_off(
    gateway: httpx.AsyncClient, businesses: list[Business]
) -> frozenset[tuple[str, str]]:
    """(tenant, customer) of every conversation that waits for a person."""
    waiting = set()
    for business in businesses:
        for conversation in await _pages(gateway, "/api/v1/conversations", business.headers):
            if conversation["state"] == "waiting_human":
                waiting.add((business.tenant_id, conversation["contact"]["wa_id"]))
    return frozenset(waiting)


async def recorded_replies(
    gateway: httpx.AsyncClient, businesses: list[Business], customers: set[tuple[str, str]]
) -> list[RecordedReply]:
    """The replies Parley recorded in the conversations of `customers` ((tenant, wa_id)),
    with their `possible_duplicate` flag."""
    found = []
    for business in businesses:
        wanted = {c for t, c in customers if t == business.tenant_id}
        if not wanted:
            continue
        for conversation in await _pages(gateway, "/api/v1/conversations", business.headers):
            if conversation["contact"]["wa_id"] not in wanted:
                continue
            path = f"/api/v1/conversations/{conversation['id']}/messages"
            for message in await _pages(gateway, path, business.headers):
                if message["direction"] == "outbound" and message.get("reply_to_wamid"):
                    found.append(
                        RecordedReply(message["reply_to_wamid"], message["possible_duplicate"])
                    )
    return found


def customers_with_duplicates(
    replies: list[OutboxReply], owners: dict[str, tuple[str, str]]
) -> set[tuple[str, str]]:
    """(tenant, customer) of the messages (wamid → owner) quoted by more than one reply."""
    counts = Counter(r.reply_to for r in replies)
    return {owners[w] for w, n in counts.items() if n > 1 and w in owners}
