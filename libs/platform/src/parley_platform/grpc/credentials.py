"""Service-to-service credentials for internal gRPC.

Each call carries `authorization: Bearer <token>`: a JWT (HS256, algorithm pinned) signed
with the cluster's service-token secret, naming the calling service (`sub`) and the service
called (`aud`), valid for a few minutes. A process on the network without the secret cannot
call any internal method; a server can further restrict a method to named callers.
(Per-service mTLS is the stronger next step; see docs/security.md.)
"""

from __future__ import annotations

import time
from typing import Any

import jwt

ISSUER = "parley-services"
ALGORITHM = "HS256"
TOKEN_TTL_S = 300
AUTH_METADATA = "authorization"
TENANT_METADATA = "x-parley-tenant-id"


class InvalidServiceCredential(Exception):
    """The call's service credential is missing, expired, forged or for another service."""


class ServiceTokenIssuer:
    """Mints (and caches) this service's tokens for each service it calls."""

    def __init__(self, secret: str, service: str, ttl_s: int = TOKEN_TTL_S) -> None:
        self._secret = secret
        self._service = service
        self._ttl_s = ttl_s
        self._cache: dict[str, tuple[str, float]] = {}

    def token_for(self, audience: str) -> str:
        """A token for calling `audience`, reused until half its lifetime has passed."""
        now = time.time()
        cached = self._cache.get(audience)
        if cached and cached[1] > now:
            return cached[0]
        token = self.mint(audience)
        self._cache[audience] = (token, now + self._ttl_s / 2)
        return token

    def mint(
        self, audience: str, extra_claims: dict[str, Any] | None = None, ttl_s: int | None = None
    ) -> str:
        """A new token for `audience`, optionally carrying more claims (never cached)."""
        now = int(time.time())
        claims = {
            "iss": ISSUER,
            "sub": self._service,
            "aud": audience,
            "iat": now,
            "exp": now + (ttl_s or self._ttl_s),
            **(extra_claims or {}),
        }
        return jwt.encode(claims, self._secret, algorithm=ALGORITHM)


def verify_service_claims(token: str | None, secret: str, audience: str) -> dict[str, Any]:
    """The claims of a service token valid for `audience` (algorithm pinned to HS256)."""
    if not token:
        raise InvalidServiceCredential("missing service credential")
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            audience=audience,
            issuer=ISSUER,
            options={"require": ["exp", "iat", "sub", "aud", "iss"]},
        )
    except jwt.PyJWTError as exc:
        raise InvalidServiceCredential(f"invalid service credential: {type(exc).__name__}") from exc
    return dict(claims)


def verify_service_token(authorization: str | None, secret: str, audience: str) -> str:
    """The calling service's name, if `authorization` ("Bearer <token>") is a valid
    credential for `audience`."""
    if not authorization or not authorization.startswith("Bearer "):
        raise InvalidServiceCredential("missing service credential")
    return str(verify_service_claims(authorization[len("Bearer ") :], secret, audience)["sub"])
