"""Delivering webhooks to the platform the way Meta does: signed with the number's app
secret, POSTed to its callback URL, and retried with growing delays on anything but 200."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import aiohttp

from parley_sandbox import meta
from parley_sandbox.config import SandboxSettings
from parley_sandbox.state import BusinessNumber, SandboxState

log = logging.getLogger(__name__)


class WebhookDelivery:
    """Posts notifications and keeps retrying failed ones in the background."""

    def __init__(self, settings: SandboxSettings, state: SandboxState) -> None:
        self._settings = settings
        self._state = state
        self._session: aiohttp.ClientSession | None = None  # made on the event loop, when used
        self._tasks: set[asyncio.Task[Any]] = set()

    async def close(self) -> None:
        """Stop retrying and close the HTTP client."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._session is not None:
            await self._session.close()

    def _client(self) -> aiohttp.ClientSession:
        # aiohttp rather than httpx: a fifth of the CPU per request, and the sandbox shares the
        # benchmark machine's cores with the platform it stands in front of.
        if self._session is None:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self._settings.webhook_timeout_s),
                # Idle connections dropped before the platform's server closes them (5 s).
                connector=aiohttp.TCPConnector(keepalive_timeout=4.0),
            )
        return self._session

    async def deliver(self, number: BusinessNumber, payload: dict[str, Any], kind: str) -> int:
        """POST `payload` once now; on failure keep retrying in the background. Returns the
        first attempt's HTTP status (0 when the platform could not be reached)."""
        raw = meta.encode_like_meta(payload)
        ids = _item_ids(payload)
        if self._settings.require_app_subscription and (
            number.waba_id not in self._state.subscriptions
        ):
            # Meta sends nothing for a WABA no app subscribed to.
            self._record(number, kind, ids, attempt=1, status=0, skipped="no app subscribed")
            return 0
        status = await self._attempt(number, raw, kind, ids, attempt=1)
        if status != 200:
            self._spawn(self._retry(number, raw, kind, ids))
        return status

    def deliver_later(
        self, number: BusinessNumber, payloads: list[dict[str, Any]], delay_s: float, kind: str
    ) -> None:
        """Deliver `payloads` in this order, one after another, starting after `delay_s`."""

        async def run() -> None:
            await asyncio.sleep(delay_s)
            for payload in payloads:
                await self.deliver(number, payload, kind)

        self._spawn(run())

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _retry(self, number: BusinessNumber, raw: bytes, kind: str, ids: list[str]) -> None:
        delays = self._settings.webhook_retry_delays_s
        for attempt, delay in enumerate(delays, start=2):
            await asyncio.sleep(delay)
            if await self._attempt(number, raw, kind, ids, attempt) == 200:
                return
        log.warning("webhook dropped after %d attempts", len(delays) + 1)

    async def _attempt(
        self, number: BusinessNumber, raw: bytes, kind: str, ids: list[str], attempt: int
    ) -> int:
        started = time.monotonic()
        try:
            async with self._client().post(
                number.webhook_url,
                data=raw,
                headers={
                    "Content-Type": "application/json",
                    "X-Hub-Signature-256": meta.signature(number.app_secret, raw),
                },
                allow_redirects=False,
            ) as response:
                status = response.status
                await response.read()
        except (TimeoutError, aiohttp.ClientError) as exc:
            log.info("webhook attempt failed: %s", type(exc).__name__)
            status = 0
        self._record(
            number,
            kind,
            ids,
            attempt=attempt,
            status=status,
            duration_ms=round((time.monotonic() - started) * 1000, 2),
            bytes=len(raw),
        )
        return status

    def _record(
        self,
        number: BusinessNumber,
        kind: str,
        ids: list[str],
        *,
        attempt: int,
        status: int,
        **details: Any,
    ) -> None:
        self._state.webhook_log.append(
            {
                "sequence": self._state.next_sequence(),
                "phone_number_id": number.phone_number_id,
                "kind": kind,
                "ids": ids,  # the wamids of the messages (or statuses) it carried
                "attempt": attempt,
                "status": status,
                "at": time.time(),
                **details,
            }
        )


def _item_ids(payload: dict[str, Any]) -> list[str]:
    """The ids of the messages and statuses a notification carries."""
    ids = []
    for entry in payload.get("entry") or ():
        for change in entry.get("changes") or ():
            value = change.get("value") or {}
            for item in (*(value.get("messages") or ()), *(value.get("statuses") or ())):
                if isinstance(item, dict) and isinstance(item.get("id"), str):
                    ids.append(item["id"])
    return ids
