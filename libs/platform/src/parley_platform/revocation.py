"""Revocation markers in Redis: how "this user was deactivated" or "this API key was revoked"
reaches every gateway replica at once instead of when cached credentials expire.

The auth service writes a marker when it invalidates credentials; the gateway reads it on
every authenticated request (one GET). For a user the marker is a time T (Unix seconds):
access tokens issued before T are void. It lives as long as the longest access token, after
which every token it could void has expired anyway. For an API key the marker says the key is
revoked; the key is also revoked in auth's database, so the marker only has to outlive the
gateway's credential cache. Keys start with the tenant id (`tenant_key`).
"""

from __future__ import annotations

from uuid import UUID

from redis.asyncio import Redis

from parley_platform.identity import Principal
from parley_platform.ratelimit import tenant_key

# Set the marker only if it moves T forward, so replicas racing cannot move it back.
_RAISE_SCRIPT = """
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) > current then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
end
return 1
"""


def user_marker_key(tenant_id: UUID, user_id: UUID) -> str:
    return tenant_key(tenant_id, "revocation", "user", str(user_id))


def api_key_marker_key(tenant_id: UUID, api_key_id: UUID) -> str:
    return tenant_key(tenant_id, "revocation", "api-key", str(api_key_id))


class RevocationList:
    """Writes (auth) and checks (gateway) revocation markers."""

    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._raise = redis.register_script(_RAISE_SCRIPT)

    async def void_user_tokens(
        self, tenant_id: UUID, user_id: UUID, issued_before_s: int, keep_s: int
    ) -> None:
        """Void the user's access tokens issued before `issued_before_s`; the marker is kept
        `keep_s` seconds (at least the longest access-token lifetime)."""
        await self._raise(
            keys=[user_marker_key(tenant_id, user_id)], args=[issued_before_s, max(1, keep_s)]
        )

    async def revoke_api_key(self, tenant_id: UUID, api_key_id: UUID, keep_s: int) -> None:
        """Mark an API key revoked for `keep_s` seconds (longer than any credential cache)."""
        await self._redis.set(api_key_marker_key(tenant_id, api_key_id), "1", ex=max(1, keep_s))

    async def api_key_standing(
        self, tenant_id: UUID, api_key_id: UUID, created_by: UUID | None
    ) -> tuple[bool, int | None]:
        """In one round trip: whether the key is revoked, and the time of its creator's marker
        (None without one). An API key's authority follows its creator's role, so a key
        verified before that time must be verified again."""
        keys = [api_key_marker_key(tenant_id, api_key_id)]
        if created_by is not None:
            keys.append(user_marker_key(tenant_id, created_by))
        values = await self._redis.mget(keys)
        creator_marker = values[1] if len(values) > 1 else None
        return values[0] is not None, int(creator_marker) if creator_marker is not None else None

    async def is_revoked(self, principal: Principal, issued_at_s: int | None = None) -> bool:
        """True when `principal`'s credential was voided after it was issued."""
        if principal.api_key_id is not None:
            key = api_key_marker_key(principal.tenant_id, principal.api_key_id)
            return bool(await self._redis.exists(key))
        if principal.user_id is None:
            return False
        marker = await self._redis.get(user_marker_key(principal.tenant_id, principal.user_id))
        if marker is None:
            return False
        return issued_at_s is None or issued_at_s < int(marker)
