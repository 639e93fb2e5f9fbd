"""From a verified notification to durable events: route each change to its tenant's channel,
turn every message, status and error into one event with an id derived from Meta's ids, and
publish the whole batch with acks=all before the request is answered.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime

from parley.common.v1.envelope_pb2 import MetaError
from parley.whatsapp.v1 import events_pb2 as wa
from parley_platform.context import tenant_scope
from parley_platform.events import OutgoingEvent, conversation_key, derived_event_id
from parley_platform.events.producer import EventProducer
from parley_platform.events.topics import WHATSAPP_INBOUND, WHATSAPP_STATUS, WHATSAPP_WEBHOOK_ERROR
from prometheus_client import Counter

from parley_gateway.webhooks.channels import ChannelDirectory, ChannelRoute
from parley_gateway.webhooks.parsing import (
    MESSAGES_FIELD,
    Change,
    OddItem,
    ParsedChange,
    iter_changes,
    parse_change,
)

log = logging.getLogger(__name__)

WEBHOOK_UPDATES = Counter(
    "parley_webhook_updates_total",
    "Webhook items by kind (message, status, error, change) and what became of them",
    ["kind", "outcome"],
)


@dataclass
class IngestReport:
    """What one notification yielded."""

    events: list[OutgoingEvent] = field(default_factory=list)
    skipped: int = 0


class WebhookIngest:
    """Turns notifications into events and publishes them."""

    def __init__(
        self, directory: ChannelDirectory, producer: EventProducer, *, publish: bool = True
    ) -> None:
        self._directory = directory
        self._producer = producer
        self._publish = publish

    async def ingest(
        self, notification: object, *, only_channel: ChannelRoute | None = None
    ) -> IngestReport:
        """Publish one event per item of `notification` (already signature-checked).

        With `only_channel` (a business's own-app endpoint) only that channel's changes are
        taken. Returns once Kafka acknowledged every event; raises PublishError otherwise,
        and Unavailable when the channel registry cannot be asked (Meta retries either way).
        """
        received_at = datetime.now(UTC)
        changes = list(iter_changes(notification))
        routes = await self._routes(changes, only_channel)
        report = IngestReport()
        for change in changes:
            route = routes.get(change.phone_number_id)
            if not self._routable(change, route, only_channel, report):
                continue
            assert route is not None
            with tenant_scope(route.tenant_id):
                parsed = parse_change(change, received_at)
                report.events.extend(_events(route, change, parsed))
                _count(parsed)
        if report.events and self._publish:
            await self._producer.publish(*report.events)
        return report

    async def _routes(
        self, changes: list[Change], only_channel: ChannelRoute | None
    ) -> dict[str, ChannelRoute | None]:
        numbers = {c.phone_number_id for c in changes if c.field == MESSAGES_FIELD}
        if only_channel is not None:
            return {n: only_channel if n == only_channel.phone_number_id else None for n in numbers}
        ordered = sorted(numbers)
        found = await asyncio.gather(*(self._directory.by_phone_number_id(n) for n in ordered))
        return dict(zip(ordered, found, strict=True))

    @staticmethod
    def _routable(
        change: Change,
        route: ChannelRoute | None,
        only_channel: ChannelRoute | None,
        report: IngestReport,
    ) -> bool:
        """Whether `change` may be published; logs and counts every reason it may not."""
        reason = None
        if change.field != MESSAGES_FIELD:
            reason = "ignored_field"
        elif route is None:
            reason = "foreign_number" if only_channel is not None else "unknown_number"
        elif only_channel is None and route.uses_own_app:
            # That business's webhooks are signed by its own app and come to its own URL.
            reason = "own_app_channel"
        if reason is None:
            return True
        report.skipped += 1
        WEBHOOK_UPDATES.labels("change", reason).inc()
        log.info(
            "webhook change skipped",
            extra={
                "reason": reason,
                "field": change.field,
                "phone_number_id": change.phone_number_id,
                "waba_id": change.waba_id,
            },
        )
        return False


def _events(route: ChannelRoute, change: Change, parsed: ParsedChange) -> list[OutgoingEvent]:
    tenant = route.tenant_id
    events = []
    for message in parsed.messages:
        message.payload.channel_id = route.channel_id
        events.append(
            OutgoingEvent(
                topic=WHATSAPP_INBOUND,
                key=conversation_key(tenant, message.customer_id),
                payload=message.payload,
                tenant_id=tenant,
                event_id=derived_event_id(str(tenant), message.payload.wamid),
                occurred_at=message.sent_at,
            )
        )
    for status in parsed.statuses:
        status.payload.channel_id = route.channel_id
        events.append(
            OutgoingEvent(
                topic=WHATSAPP_STATUS,
                key=conversation_key(tenant, status.customer_id),
                payload=status.payload,
                tenant_id=tenant,
                event_id=derived_event_id(
                    str(tenant), status.payload.wamid, status.payload.status_raw
                ),
                occurred_at=status.at,
            )
        )
    if parsed.errors:
        events.append(_webhook_error(route, change, parsed.errors, parsed.errors_json))
    for odd in parsed.odd:
        log.warning(
            "unreadable webhook item kept as a webhook error",
            extra={
                "kind": odd.kind,
                "reason": odd.reason,
                "phone_number_id": change.phone_number_id,
            },
        )
        events.append(_odd_item(route, change, odd))
    return events


def _webhook_error(
    route: ChannelRoute, change: Change, errors: list[MetaError], raw_json: str
) -> OutgoingEvent:
    payload = wa.WebhookError(
        channel_id=route.channel_id,
        phone_number_id=change.phone_number_id,
        field=change.field,
        errors=errors,
        raw_json=raw_json,
    )
    return OutgoingEvent(
        topic=WHATSAPP_WEBHOOK_ERROR,
        # No customer: the business number stands in, so its errors stay in order.
        key=conversation_key(route.tenant_id, change.phone_number_id),
        payload=payload,
        tenant_id=route.tenant_id,
        # The same error redelivered by Meta gets the same id.
        event_id=derived_event_id(
            str(route.tenant_id), "webhook-error", hashlib.sha256(raw_json.encode()).hexdigest()
        ),
    )


def _odd_item(route: ChannelRoute, change: Change, odd: OddItem) -> OutgoingEvent:
    error = MetaError(title=f"unreadable {odd.kind}", message=odd.reason)
    return _webhook_error(route, change, [error], odd.raw_json)


def _count(parsed: ParsedChange) -> None:
    if parsed.messages:
        WEBHOOK_UPDATES.labels("message", "published").inc(len(parsed.messages))
    if parsed.statuses:
        WEBHOOK_UPDATES.labels("status", "published").inc(len(parsed.statuses))
    if parsed.errors:
        WEBHOOK_UPDATES.labels("error", "published").inc(len(parsed.errors))
    if parsed.odd:
        WEBHOOK_UPDATES.labels("odd_item", "published").inc(len(parsed.odd))
