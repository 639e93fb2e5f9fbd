"""Fetching web pages for website imports without reaching into private networks.

Every connection is checked at the moment it is made: the host name is resolved once, each
resolved address is checked (loopback, private, link-local... are refused unless the
operator allows them), and the connection goes to that checked address. A name that
resolves to a public address for the check and a private one for the connection (DNS
rebinding) cannot slip through, and neither can a redirect, since every hop connects
through the same check. TLS still verifies the certificate against the host name.
"""

from __future__ import annotations

import socket
from collections.abc import Iterable
from dataclasses import dataclass

import anyio
import httpcore
import httpx
from httpcore._backends.base import SOCKET_OPTION

from parley_knowledge.domain.urls import is_public_address

MAX_ROBOTS_BYTES = 512 * 1024


class BlockedAddress(httpx.ConnectError):
    """The host resolves only to addresses the crawler may not connect to."""


class _GuardedNetwork(httpcore.AsyncNetworkBackend):
    """Connects only to resolved addresses that pass the address policy."""

    def __init__(self, allow_private: bool) -> None:
        self._allow_private = allow_private
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        local_address: str | None = None,
        socket_options: Iterable[SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            with anyio.fail_after(timeout):
                infos = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, TimeoutError) as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}") from exc
        addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
        allowed = [a for a in addresses if self._allow_private or is_public_address(a)]
        if not allowed:
            raise BlockedAddress(f"{host} resolves to a private or local address")
        error: Exception | None = None
        for address in allowed:
            try:
                return await self._inner.connect_tcp(
                    address,
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout, OSError) as exc:
                error = exc
        assert error is not None
        raise error

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        socket_options: Iterable[SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise BlockedAddress("unix sockets are not fetched")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class _GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport over the guarded network (httpx builds its httpcore pool without a
    way to pass a network backend, so the pool is rebuilt here with one)."""

    def __init__(self, allow_private: bool) -> None:
        super().__init__(retries=0)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(),
            max_connections=10,
            max_keepalive_connections=5,
            keepalive_expiry=5.0,
            network_backend=_GuardedNetwork(allow_private),
        )


@dataclass(frozen=True)
class Fetched:
    """A fetched resource: where it ended (after redirects), its status, type and body."""

    url: str
    status: int
    content_type: str
    content: bytes
    too_large: bool = False


class Fetcher:
    """Fetches URLs for the crawler: guarded connections, bounded size, no redirects
    (the crawler follows them itself, checking each hop is on the site)."""

    def __init__(
        self, *, allow_private: bool, timeout_s: float, user_agent: str, max_bytes: int
    ) -> None:
        self._max_bytes = max_bytes
        self._client = httpx.AsyncClient(
            transport=_GuardedTransport(allow_private),
            timeout=httpx.Timeout(timeout_s, connect=min(timeout_s, 5.0)),
            headers={"User-Agent": user_agent, "Accept": "text/html,application/xhtml+xml,*/*"},
            follow_redirects=False,
            trust_env=False,  # a proxy from the environment would bypass the address check
        )

    async def get(self, url: str, max_bytes: int | None = None) -> Fetched:
        """GET `url` (raises httpx.HTTPError when it cannot be fetched)."""
        limit = max_bytes or self._max_bytes
        async with self._client.stream("GET", url) as response:
            body = bytearray()
            too_large = False
            async for piece in response.aiter_bytes():
                body += piece
                if len(body) > limit:
                    too_large = True
                    break
            location = response.headers.get("location")
            return Fetched(
                url=str(response.url.join(location)) if location else str(response.url),
                status=response.status_code,
                content_type=response.headers.get("content-type", ""),
                content=bytes(body[:limit]),
                too_large=too_large,
            )

    async def close(self) -> None:
        await self._client.aclose()
