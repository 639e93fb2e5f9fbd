"""API keys, verified by the auth service and remembered briefly in this process.

A verified key is cached for `ttl_s` (never past the key's own expiry); a rejected key for a
few seconds, so that retries of a bad key do not each cost a call. The cache is keyed by a
digest of the key, bounded in size (least recently used entries go first).
"""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from parley_platform.errors import Unauthenticated
from parley_platform.identity import Principal

REJECTION_TTL_S = 5.0


@dataclass(frozen=True)
class VerifiedKey:
    principal: Principal
    expires_at_unix: int  # 0: the key does not expire


# Calls auth; returns None when auth says the key is not valid (raises when auth is down).
RemoteVerify = Callable[[str], Awaitable[VerifiedKey | None]]


class ApiKeyVerifier:
    def __init__(self, remote: RemoteVerify, *, ttl_s: float, max_entries: int) -> None:
        self._remote = remote
        self._ttl_s = ttl_s
        self._max_entries = max_entries
        self._cache: OrderedDict[bytes, tuple[float, Principal | None]] = OrderedDict()

    async def verify(self, key: str) -> Principal:
        """The key's principal, or Unauthenticated."""
        digest = hashlib.sha256(key.encode()).digest()
        now = time.monotonic()
        cached = self._cache.get(digest)
        if cached is not None and cached[0] > now:
            self._cache.move_to_end(digest)
            principal = cached[1]
        else:
            verified = await self._remote(key)
            principal = verified.principal if verified else None
            ttl = self._ttl_s if verified else min(self._ttl_s, REJECTION_TTL_S)
            if verified and verified.expires_at_unix:
                ttl = min(ttl, verified.expires_at_unix - time.time())
            self._remember(digest, now + ttl, principal)
        if principal is None:
            raise Unauthenticated("the API key is not valid", code="invalid_credential")
        return principal

    def _remember(self, digest: bytes, until: float, principal: Principal | None) -> None:
        self._cache[digest] = (until, principal)
        self._cache.move_to_end(digest)
        while len(self._cache) > self._max_entries:
            self._cache.popitem(last=False)
