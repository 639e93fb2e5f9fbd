"""API keys, verified by the auth service and remembered briefly in this process.

A verified key is cached for `ttl_s` (never past the key's own expiry); a rejected key for a
few seconds, so that retries of a bad key do not each cost a call. The cache
(parley_platform.cache) is keyed by a digest of the key and bounded in size. Each answer
remembers when auth gave it, so that the authenticator can ask again when the key's creator
changed since (their role bounds the key's).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from uuid import UUID

from parley_platform.cache import Found, TtlCache
from parley_platform.errors import Unauthenticated
from parley_platform.identity import Principal

REJECTION_TTL_S = 5.0


@dataclass(frozen=True)
class VerifiedKey:
    principal: Principal
    expires_at_unix: int  # 0: the key does not expire
    created_by: UUID | None = None  # the user whose current role bounds the key
    verified_at: float = 0.0  # Unix time of auth's answer


# Calls auth; returns None when auth says the key is not valid (raises when auth is down).
RemoteVerify = Callable[[str], Awaitable[VerifiedKey | None]]


class ApiKeyVerifier:
    def __init__(self, remote: RemoteVerify, *, ttl_s: float, max_entries: int) -> None:
        self._remote = remote
        self._cache: TtlCache[bytes, VerifiedKey] = TtlCache(
            ttl_s=ttl_s, negative_ttl_s=min(ttl_s, REJECTION_TTL_S), max_entries=max_entries
        )

    async def verify(self, key: str) -> VerifiedKey:
        """Auth's (possibly remembered) answer about the key, or Unauthenticated."""
        verified = await self._cache.get(_digest(key), lambda: self._ask(key))
        if verified is None:
            raise Unauthenticated("the API key is not valid", code="invalid_credential")
        return verified

    def forget(self, key: str) -> None:
        """Drop the remembered answer: the next `verify` asks auth again."""
        self._cache.invalidate(_digest(key))

    async def _ask(self, key: str) -> Found[VerifiedKey] | None:
        asked_at = time.time()
        verified = await self._remote(key)
        if verified is None:
            return None
        ttl = float("inf")
        if verified.expires_at_unix:  # never trusted past the key's own expiry
            ttl = verified.expires_at_unix - time.time()
        return Found(replace(verified, verified_at=asked_at), ttl)


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()
