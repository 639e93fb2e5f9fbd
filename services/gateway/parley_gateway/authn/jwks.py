"""The auth service's public signing keys, cached in this process.

Keys are fetched over gRPC (AuthService.GetJwks) when the cache is older than its maximum
age, and when a token names a key the cache does not hold (a rotation). Fetches are spaced
by a minimum interval, so a flood of tokens with random `kid`s costs auth at most one call
per interval per gateway process (a few per second until the first fetch succeeds). When
auth cannot be reached the last keys stay in use.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from parley_platform.access_tokens import keys_from_jwks, public_jwk

log = logging.getLogger(__name__)


class JwksCache:
    """Signing keys by kid, refreshed lazily."""

    def __init__(
        self,
        fetch: Callable[[], Awaitable[str]],
        *,
        max_age_s: float,
        min_refresh_interval_s: float,
    ) -> None:
        self._fetch = fetch
        self._max_age_s = max_age_s
        self._min_interval_s = min_refresh_interval_s
        self._keys: dict[str, Ed25519PublicKey] = {}
        self._fetched_at = float("-inf")
        self._attempted_at = float("-inf")
        self._lock = asyncio.Lock()

    async def keys_for(self, kid: str) -> Mapping[str, Ed25519PublicKey]:
        """The known keys, refreshed first if stale or if `kid` is not among them."""
        if kid not in self._keys or self._stale():
            await self.refresh()
        return self._keys

    async def document(self) -> dict[str, Any]:
        """The JWKS document to publish (only well-formed Ed25519 keys)."""
        if self._stale():
            await self.refresh()
        return {"keys": [public_jwk(kid, key) for kid, key in self._keys.items()]}

    async def refresh(self) -> None:
        """Fetch the keys unless a fetch was attempted within the minimum interval."""
        async with self._lock:
            now = time.monotonic()
            # Until a first fetch succeeds (the gateway started before auth) no token can be
            # checked at all, so retry soon rather than after the full interval.
            interval = self._min_interval_s if self._keys else min(self._min_interval_s, 0.25)
            if now - self._attempted_at < interval:
                return
            self._attempted_at = now
            try:
                keys = keys_from_jwks(json.loads(await self._fetch()))
            except Exception:
                log.warning("JWKS refresh failed; keeping the cached keys", exc_info=True)
                return
            self._keys = keys
            self._fetched_at = now

    def _stale(self) -> bool:
        return time.monotonic() - self._fetched_at > self._max_age_s
