"""Whether a user may see the conversation a message belongs to, as the conversation
service (which owns conversations and their visibility rule) answers it.

Media files live here, but who may see them is the conversation's business: an agent who
cannot see a conversation must not be able to open its files by their id. Each download
asks, on behalf of the user (the verified principal is forwarded in the internal token).
"""

from __future__ import annotations

import httpx
from parley_platform.errors import NotFound, PermissionDenied, Unavailable
from parley_platform.grpc.credentials import ServiceTokenIssuer
from parley_platform.http.internal import internal_headers
from parley_platform.identity import Principal


class ConversationAccess:
    """Asks the conversation service's `/internal/v1/messages/by-wamid`."""

    def __init__(self, base_url: str, issuer: ServiceTokenIssuer, *, timeout_s: float) -> None:
        self._base_url = base_url.rstrip("/")
        self._issuer = issuer
        # trust_env=False: calls between services never go through a proxy of the environment.
        self._client = httpx.AsyncClient(timeout=timeout_s, trust_env=False)

    async def close(self) -> None:
        await self._client.aclose()

    async def require_visible(self, principal: Principal, wamid: str) -> None:
        """Return when `principal` may see the conversation of message `wamid`; NotFound
        (as if the file did not exist) when not, Unavailable when nobody can tell."""
        try:
            answer = await self._client.get(
                f"{self._base_url}/internal/v1/messages/by-wamid",
                params={"wamid": wamid},
                headers=internal_headers(self._issuer, "conversation", principal),
            )
        except httpx.HTTPError as exc:
            raise Unavailable("conversations cannot be reached; try again shortly") from exc
        if answer.status_code == 200:
            return
        if answer.status_code == 404:
            raise NotFound("media not found")
        if answer.status_code == 403:
            raise PermissionDenied("opening a customer's file needs the conversations:read scope")
        raise Unavailable("conversations cannot be reached; try again shortly")
