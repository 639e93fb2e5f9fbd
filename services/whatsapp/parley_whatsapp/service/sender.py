"""Sending one command through the Cloud API, exactly once where Meta allows it.

The command's `message_id` is the idempotency key: a command seen again after its outcome was
recorded is not sent again. Each request is recorded as in flight (committed) before it
leaves; if no definite answer comes back (timeout, 5xx, crash), the next attempt is counted
and flagged as a possible duplicate rather than retried silently. Meta's errors are handled
by class (domain.errors): bounded retries with backoff and jitter for transient and
throttling codes, a window-closed outcome for 131047, a disconnected channel for 190, and a
failed outcome with Meta's reason for the rest. The outcome event is written to the outbox
in the same transaction as the outcome itself.

A read receipt (blue ticks, perhaps with the typing indicator) is fire-and-forget: one
request, no record and no outcome event; a failure is logged and counted, since repeating
it is harmless and nobody waits for its result.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from uuid import UUID

from parley.common.v1.envelope_pb2 import MetaError
from parley.whatsapp.v1 import events_pb2 as wa
from parley_platform.db import Database
from parley_platform.errors import InvalidRequest, NotFound, ParleyError, Unavailable
from parley_platform.events import ConsumedEvent, OutgoingEvent, add_to_outbox, derived_event_id
from parley_platform.events.envelope import timestamp
from parley_platform.events.topics import WHATSAPP_OUTCOME
from parley_platform.ratelimit import Limit, RateLimiter, tenant_key
from prometheus_client import Counter

from parley_whatsapp.cloud_api import Accepted, CloudApi, NoAnswer, Rejected
from parley_whatsapp.config import Settings
from parley_whatsapp.credentials import CredentialStore, SendCredentials
from parley_whatsapp.domain.errors import Disposition, RetryPolicy, classify, is_retryable
from parley_whatsapp.domain.outbound import (
    CloudRequest,
    InvalidCommand,
    is_read_receipt,
    plan_requests,
    read_receipt,
    recipient_of,
)
from parley_whatsapp.repository.sends import (
    Addressed,
    OutboundPart,
    OutboundRepository,
    PartState,
)

log = logging.getLogger(__name__)

SENDS = Counter("parley_whatsapp_sends_total", "Send commands finished, by result", ["result"])
SEND_RETRIES = Counter(
    "parley_whatsapp_send_retries_total", "Cloud API requests retried, by reason", ["reason"]
)
POSSIBLE_DUPLICATES = Counter(
    "parley_whatsapp_possible_duplicates_total",
    "Requests sent again after an earlier one got no definite answer",
)
READ_RECEIPTS = Counter(
    "parley_whatsapp_read_receipts_total",
    "Read receipts (and typing indicators) by result: sent, or why not (never retried)",
    ["result"],
)

_RESULTS = {
    wa.SEND_RESULT_SENT: "sent",
    wa.SEND_RESULT_FAILED: "failed",
    wa.SEND_RESULT_WINDOW_CLOSED: "window_closed",
    wa.SEND_RESULT_CHANNEL_DISCONNECTED: "channel_disconnected",
}


@dataclass(frozen=True)
class Ending:
    """How a command ends when it does not end as sent."""

    result: wa.SendResult
    reason: str
    error: MetaError | None = None
    wamids: list[str] = field(default_factory=list)


class Sender:
    """The use case behind the `whatsapp-sender` consumer group."""

    def __init__(
        self,
        settings: Settings,
        database: Database,
        credentials: CredentialStore,
        cloud: CloudApi,
        limiter: RateLimiter,
    ) -> None:
        self._settings = settings
        self._database = database
        self._credentials = credentials
        self._cloud = cloud
        self._limiter = limiter
        self._retries = RetryPolicy(
            max_attempts=settings.send_max_attempts,
            initial_backoff_s=settings.send_backoff_initial_s,
            max_backoff_s=settings.send_backoff_max_s,
        )

    async def handle(self, event: ConsumedEvent[wa.SendCommand]) -> None:
        """Carry out one SendCommand event."""
        if is_read_receipt(event.payload):
            await self._mark_read(event)
            return
        command = event.payload
        tenant = event.tenant_id
        deadline = time.monotonic() + self._settings.send_retry_budget_s
        try:
            requests = plan_requests(command)
        except InvalidCommand as exc:
            await self._finish(
                event,
                Ending(wa.SEND_RESULT_FAILED, f"invalid send command: {exc}"),
                record_exists=False,
            )
            return
        try:
            credentials = await self._credentials_within(tenant, command, deadline)
        except NotFound:
            await self._finish(
                event,
                Ending(wa.SEND_RESULT_FAILED, "this tenant has no such WhatsApp channel"),
                record_exists=False,
            )
            return
        if credentials.disconnected:
            await self._finish(
                event,
                Ending(
                    wa.SEND_RESULT_CHANNEL_DISCONNECTED,
                    "the WhatsApp channel must be reconnected (its token was rejected)",
                ),
                record_exists=False,
            )
            return
        progress = _Progress()
        wamids: list[str] = []
        last_accepted: tuple[int, str | None] | None = None
        for index, request in enumerate(requests):
            last = index == len(requests) - 1
            # The last part's acceptance is recorded with the outcome, in one transaction.
            sent = await self._send_part(
                event, credentials, index, request, deadline, progress, record_acceptance=not last
            )
            if progress.finished_before:
                log.info(
                    "send command already carried out", extra={"message_id": command.message_id}
                )
                return
            if isinstance(sent, Ending):
                await self._finish(
                    event,
                    Ending(sent.result, sent.reason, sent.error, wamids),
                    record_exists=progress.opened,
                )
                return
            wamids += sent
            if last:
                last_accepted = (index, sent[0] if sent else None)
        await self._finish(event, Ending(wa.SEND_RESULT_SENT, "", None, wamids), last_accepted)

    async def _mark_read(self, event: ConsumedEvent[wa.SendCommand]) -> None:
        """Send a read receipt once; whatever happens, nothing is recorded or reported
        back (only logged and counted)."""
        command = event.payload
        tenant = event.tenant_id
        try:
            request = read_receipt(command)
            credentials = await self._credentials.get(
                tenant, command.channel_id, command.phone_number_id
            )
        except InvalidCommand as exc:
            self._read_receipt_not_sent("invalid", str(exc))
            return
        except (NotFound, InvalidRequest):
            self._read_receipt_not_sent("no_channel", "this tenant has no such WhatsApp channel")
            return
        except ParleyError as exc:  # auth could not answer
            self._read_receipt_not_sent("credentials_unavailable", exc.message)
            return
        if credentials.disconnected:
            self._read_receipt_not_sent("channel_disconnected", "the channel must be reconnected")
            return
        async with self._throughput(tenant, credentials):
            answer = await self._cloud.send(
                credentials.phone_number_id, credentials.access_token, request
            )
        if isinstance(answer, Accepted):
            READ_RECEIPTS.labels("sent").inc()
            return
        disposition, error = _judge(answer)
        if disposition == Disposition.RECONNECT:
            # The token is bad for every send of this channel, not just this one.
            try:
                await self._credentials.mark_disconnected(
                    tenant, credentials.channel_id, f"Meta rejected the token ({error.code})"
                )
            except ParleyError:
                log.warning("could not report the channel's rejected token to auth")
        self._read_receipt_not_sent(
            "rejected" if isinstance(answer, Rejected) else "no_answer", _describe(error)
        )

    @staticmethod
    def _read_receipt_not_sent(result: str, reason: str) -> None:
        READ_RECEIPTS.labels(result).inc()
        log.warning("read receipt not sent", extra={"result": result, "reason": reason})

    async def _credentials_within(
        self, tenant: UUID, command: wa.SendCommand, deadline: float
    ) -> SendCredentials:
        """Credentials from auth, retried while auth is unavailable and time remains."""
        attempt = 0
        while True:
            attempt += 1
            try:
                return await self._credentials.get(
                    tenant, command.channel_id, command.phone_number_id
                )
            except Unavailable:
                delay = self._retries.delay(Disposition.RETRY, attempt)
                if time.monotonic() + delay > deadline:
                    raise
                await asyncio.sleep(delay)

    async def _send_part(
        self,
        event: ConsumedEvent[wa.SendCommand],
        credentials: SendCredentials,
        part: int,
        request: CloudRequest,
        deadline: float,
        progress: _Progress,
        *,
        record_acceptance: bool,
    ) -> list[str] | Ending:
        """Send one request until Meta accepts it, it fails for good, or the bound is hit.
        Returns the wamids Meta gave it (recorded as accepted when `record_acceptance`)."""
        tenant = event.tenant_id
        command = event.payload
        if (accepted := progress.accepted_wamids(part)) is not None:
            return accepted
        attempt = 0
        while True:
            attempt += 1
            # Waiting for the pair limit and recording the request as in flight overlap: the
            # request leaves only when both are done. (A crash during the wait can only make
            # a retry look like a possible duplicate, never hide one.)
            limits = asyncio.create_task(self._wait_for_pair_limit(tenant, credentials, command))
            try:
                async with self._database.tenant_transaction(tenant) as session:
                    outbound = OutboundRepository(session, tenant)
                    if progress.opened:
                        repeated = await outbound.mark_in_flight(command.message_id, part)
                    elif await progress.open(outbound, command, part):
                        # A new command: its record and this request in flight, one statement
                        # (the busiest path).
                        repeated = False
                    else:
                        # Seen before: what an earlier delivery did decides.
                        if progress.finished_before:
                            return []
                        if (accepted := progress.accepted_wamids(part)) is not None:
                            return accepted
                        repeated = await outbound.mark_in_flight(command.message_id, part)
                within_limits = await limits
            finally:
                limits.cancel()  # a no-op once it finished
            if not within_limits:
                await self._record_part(tenant, command, part, PartState.REJECTED)  # never sent
                return Ending(
                    wa.SEND_RESULT_FAILED,
                    "too many messages to this customer right now (pair rate limit)",
                    MetaError(code=131056, message="pair rate limit reached before sending"),
                )
            if repeated:
                POSSIBLE_DUPLICATES.inc()
                log.warning(
                    "re-sending after an unanswered request: possible duplicate",
                    extra={"message_id": command.message_id, "part": part},
                )
            # The number's throughput slot is taken last, just before the request leaves:
            # taken earlier, a slow transaction would let requests bunch up at Meta.
            async with self._throughput(tenant, credentials):
                answer = await self._cloud.send(
                    credentials.phone_number_id, credentials.access_token, request
                )
            if isinstance(answer, Accepted):
                if record_acceptance:
                    await self._record_part(
                        tenant, command, part, PartState.ACCEPTED, answer.wamids
                    )
                return answer.wamids
            definite = (isinstance(answer, Rejected) and not answer.maybe_accepted) or (
                isinstance(answer, NoAnswer) and not answer.maybe_sent
            )
            if definite:
                await self._record_part(tenant, command, part, PartState.REJECTED)
            disposition, error = _judge(answer)
            ending = await self._ending_for(event, credentials, disposition, error)
            if ending is not None:
                return ending
            delay = self._retries.next_delay(disposition, attempt, deadline - time.monotonic())
            if delay is None:
                unsure = "" if definite else " (Meta may still have delivered the last attempt)"
                return Ending(
                    wa.SEND_RESULT_FAILED,
                    f"gave up after {attempt} attempts; last error: {_describe(error)}{unsure}",
                    error,
                )
            SEND_RETRIES.labels(disposition.value).inc()
            log.info(
                "send will be retried",
                extra={
                    "message_id": command.message_id,
                    "code": error.code,
                    "attempt": attempt,
                    "delay_s": round(delay, 3),
                },
            )
            await asyncio.sleep(delay)

    async def _wait_for_pair_limit(
        self, tenant: UUID, credentials: SendCredentials, command: wa.SendCommand
    ) -> bool:
        """Wait for the pair limit; False if that would take too long."""
        s = self._settings
        recipient = recipient_of(command)
        if recipient:
            try:
                await self._limiter.acquire(
                    tenant_key(tenant, "pair", credentials.phone_number_id, recipient),
                    Limit(rate=s.pair_messages_per_s, burst=s.pair_burst),
                    max_wait_s=s.pair_max_wait_s,
                )
            except TimeoutError:
                return False
        return True

    @asynccontextmanager
    async def _throughput(self, tenant: UUID, credentials: SendCredentials) -> AsyncIterator[None]:
        """Wait for the number's next request slot, then for room in the number's window of
        requests that left; the block sends the request."""
        s = self._settings
        mps = credentials.messages_per_second or s.default_messages_per_second
        key = tenant_key(tenant, "throughput", credentials.phone_number_id)
        # Burst 1: requests are spaced evenly, at a pace under the limit. What Meta counts:
        # however late this request leaves after its slot, no second (plus the way to Meta)
        # may hold more than the limit. Both usually in one Redis round trip.
        async with self._limiter.paced_window(
            key, Limit(rate=mps * s.throughput_headroom, burst=1), mps, 1.0 + s.throughput_guard_s
        ):
            yield

    async def _ending_for(
        self,
        event: ConsumedEvent[wa.SendCommand],
        credentials: SendCredentials,
        disposition: Disposition,
        error: MetaError,
    ) -> Ending | None:
        """The ending an error code forces, or None when it is worth retrying."""
        if is_retryable(disposition):
            return None
        if disposition == Disposition.WINDOW_CLOSED:
            return Ending(
                wa.SEND_RESULT_WINDOW_CLOSED,
                "more than 24 hours since the customer last wrote: only a template can be sent",
                error,
            )
        if disposition == Disposition.RECONNECT:
            await self._credentials.mark_disconnected(
                event.tenant_id, credentials.channel_id, f"Meta rejected the token ({error.code})"
            )
            return Ending(
                wa.SEND_RESULT_CHANNEL_DISCONNECTED,
                "Meta rejected the channel's access token; the channel must be reconnected",
                error,
            )
        return Ending(wa.SEND_RESULT_FAILED, f"Meta refused the message: {_describe(error)}", error)

    async def _record_part(
        self,
        tenant: UUID,
        command: wa.SendCommand,
        part: int,
        state: PartState,
        wamids: list[str] | None = None,
    ) -> None:
        async with self._database.tenant_transaction(tenant) as session:
            outbound = OutboundRepository(session, tenant)
            if state == PartState.ACCEPTED:
                await outbound.part_accepted(
                    command.message_id, part, wamids[0] if wamids else None
                )
            else:
                await outbound.part_rejected(command.message_id, part)

    async def _finish(
        self,
        event: ConsumedEvent[wa.SendCommand],
        ending: Ending,
        accepted_part: tuple[int, str | None] | None = None,
        *,
        record_exists: bool = True,
    ) -> None:
        """Record the outcome (and the acceptance of the last part) and stage its event, in
        one transaction. `record_exists` is False for commands that end before their first
        request (the record is created here then)."""
        command = event.payload
        tenant = event.tenant_id
        async with self._database.tenant_transaction(tenant) as session:
            outbound = OutboundRepository(session, tenant)
            if not record_exists:
                await outbound.begin(_addressed(command))
            finished = await outbound.finish(
                command.message_id,
                result=_RESULTS[ending.result],
                wamids=ending.wamids,
                error_code=ending.error.code if ending.error else None,
                reason=ending.reason,
                accepted_part=accepted_part,
            )
            if finished is None:
                return  # another delivery of this command finished it first
            outcome = wa.SendOutcome(
                message_id=command.message_id,
                conversation_id=command.conversation_id,
                channel_id=command.channel_id,
                result=ending.result,
                wamids=ending.wamids,
                reason=ending.reason,
                attempts=finished.requests,
                possible_duplicate=finished.possible_duplicate,
                at=timestamp(),
            )
            if ending.error is not None:
                outcome.error.CopyFrom(ending.error)
            await add_to_outbox(
                session,
                OutgoingEvent(
                    topic=WHATSAPP_OUTCOME,
                    key=event.key,
                    payload=outcome,
                    tenant_id=tenant,
                    event_id=derived_event_id(str(tenant), "send-outcome", command.message_id),
                ),
            )
        SENDS.labels(_RESULTS[ending.result]).inc()
        log.info(
            "send command finished",
            extra={
                "message_id": command.message_id,
                "result": _RESULTS[ending.result],
                "requests": finished.requests,
                "possible_duplicate": finished.possible_duplicate,
            },
        )


@dataclass
class _Progress:
    """What an earlier delivery of the same command already did (known after `open`)."""

    opened: bool = False
    finished_before: bool = False
    done_parts: dict[int, OutboundPart] = field(default_factory=dict)

    async def open(self, outbound: OutboundRepository, command: wa.SendCommand, part: int) -> bool:
        """Create the command's record with its request for `part` in flight (True), or
        learn what an earlier delivery did (False; nothing is recorded then)."""
        self.opened = True
        earlier = await outbound.begin_with_request(_addressed(command), part)
        if earlier is None:
            return True
        if earlier.result is not None:
            self.finished_before = True
            return False
        # Delivered again mid-way (a crash, a rebalance): resume after the parts Meta
        # already accepted.
        self.done_parts = await outbound.attempted_parts(command.message_id)
        return False

    def accepted_wamids(self, part: int) -> list[str] | None:
        """The wamids of `part` if Meta accepted it before; else None."""
        done = self.done_parts.get(part)
        if done is None or done.state != PartState.ACCEPTED:
            return None
        return [done.wamid] if done.wamid else []


def _addressed(command: wa.SendCommand) -> Addressed:
    return Addressed(
        message_id=command.message_id,
        conversation_id=command.conversation_id,
        channel_id=command.channel_id,
        phone_number_id=command.phone_number_id,
        recipient=recipient_of(command),
    )


def _judge(answer: Rejected | NoAnswer) -> tuple[Disposition, MetaError]:
    """The disposition of a failed request and the error to report."""
    if isinstance(answer, NoAnswer):
        return Disposition.RETRY, MetaError(
            message=f"no answer from the Cloud API ({answer.reason})"
        )
    if answer.error.code:
        return classify(answer.error.code), answer.error
    # No Graph error code: a 5xx is Meta's trouble (retry), anything else is ours.
    return (Disposition.RETRY if answer.maybe_accepted else Disposition.PERMANENT), answer.error


def _describe(error: MetaError) -> str:
    code = f"({error.code}) " if error.code else ""
    details = f": {error.details}" if error.details and error.details != error.message else ""
    return f"{code}{error.message}{details}"
