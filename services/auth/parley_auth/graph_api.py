"""The few Graph API calls of connecting a WhatsApp number, as Meta's Embedded Signup does:
read the number with the business's token, list the numbers of its WhatsApp Business
Account (WABA), and subscribe the app the token belongs to to the WABA's webhooks.

The token goes only in the Authorization header of requests to the configured Graph API
host, never into a log line or an error message. Every Meta refusal is a `GraphRefusal`
(with Meta's error code, kept for logs and metrics, never shown to the caller); no answer
at all is `GraphUnreachable`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
from prometheus_client import Counter

GRAPH_CALLS = Counter(
    "parley_auth_graph_api_calls_total",
    "Graph API calls made to verify and connect numbers, by call and outcome",
    ["call", "outcome"],
)
# A WABA holds a handful of numbers; a listing longer than this is not followed further.
MAX_PAGES = 10


class GraphRefusal(Exception):
    """Meta answered with an error (bad token, no permission, unknown object...)."""

    def __init__(self, call: str, http_status: int, code: int | None) -> None:
        super().__init__(f"{call}: Graph API error {code} (HTTP {http_status})")
        self.code = code


class GraphUnreachable(Exception):
    """Meta did not answer (network, timeout, 5xx)."""


@dataclass(frozen=True)
class GraphNumber:
    """A business phone number as the Graph API shows it."""

    id: str
    display_phone_number: str


class GraphApi:
    """Graph API client for connecting numbers (one per process)."""

    def __init__(self, base_url: str, version: str, *, timeout_s: float) -> None:
        self._base = f"{base_url.rstrip('/')}/{version}"
        # trust_env=False: the token never goes through a proxy picked up from the environment.
        self._client = httpx.AsyncClient(timeout=timeout_s, trust_env=False)

    async def close(self) -> None:
        await self._client.aclose()

    async def phone_number(self, token: str, phone_number_id: str) -> GraphNumber:
        """`GET /{phone-number-id}`: the number, if the token may read it."""
        body = await self._call("phone_number", "GET", f"/{phone_number_id}", token)
        return GraphNumber(
            id=str(body.get("id", "")),
            display_phone_number=str(body.get("display_phone_number", "")),
        )

    async def waba_phone_number_ids(self, token: str, waba_id: str) -> set[str]:
        """`GET /{waba-id}/phone_numbers`: the ids of the WABA's numbers (cursor paging)."""
        ids: set[str] = set()
        params: dict[str, str] = {"fields": "id", "limit": "100"}
        for _ in range(MAX_PAGES):
            body = await self._call(
                "waba_phone_numbers", "GET", f"/{waba_id}/phone_numbers", token, params=params
            )
            ids.update(str(n.get("id")) for n in body.get("data") or () if isinstance(n, dict))
            after = ((body.get("paging") or {}).get("cursors") or {}).get("after")
            if not after or not (body.get("paging") or {}).get("next"):
                break
            params = {**params, "after": str(after)}
        return ids

    async def subscribe_app(self, token: str, waba_id: str) -> None:
        """`POST /{waba-id}/subscribed_apps`: the token's app receives the WABA's webhooks."""
        await self._call("subscribe_app", "POST", f"/{waba_id}/subscribed_apps", token)

    async def _call(
        self,
        call: str,
        method: str,
        path: str,
        token: str,
        params: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        try:
            response = await self._client.request(
                method,
                self._base + path,
                params=params,
                headers={"Authorization": f"Bearer {token}"},
            )
        except httpx.HTTPError as exc:
            GRAPH_CALLS.labels(call, "unreachable").inc()
            raise GraphUnreachable(f"{call}: {type(exc).__name__}") from None
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.status_code >= 500:
            GRAPH_CALLS.labels(call, "unreachable").inc()
            raise GraphUnreachable(f"{call}: HTTP {response.status_code}")
        if response.status_code >= 400 or not isinstance(body, dict):
            error = (body or {}).get("error") if isinstance(body, dict) else None
            code = error.get("code") if isinstance(error, dict) else None
            GRAPH_CALLS.labels(call, "refused").inc()
            raise GraphRefusal(call, response.status_code, code if isinstance(code, int) else None)
        GRAPH_CALLS.labels(call, "ok").inc()
        return body
