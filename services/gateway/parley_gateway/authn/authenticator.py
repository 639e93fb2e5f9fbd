"""One place that turns a request's `Authorization` header into a verified principal.

`Bearer <access token>`: verified here (EdDSA pinned, kid from the cached JWKS, iss, aud,
exp). `Bearer pk_...`: an API key, verified by auth with a short cache. Either way the
principal's revocation marker is then checked in Redis (one round trip): a deactivated
user's token or a revoked key fails at once. An API key acts with at most its creator's
current role, so when the creator's marker is newer than the cached verification (the
creator was demoted or deactivated), auth is asked again at once. If Redis cannot answer,
the request fails with 503 rather than skipping the check.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from uuid import UUID

import grpc
from parley.auth.v1 import auth_pb2, auth_pb2_grpc
from parley_platform.access_tokens import (
    InvalidAccessToken,
    unverified_key_id,
    verify_access_token,
)
from parley_platform.errors import Unauthenticated, Unavailable
from parley_platform.identity import Principal, Role
from parley_platform.revocation import RevocationList
from prometheus_client import Counter
from redis.exceptions import RedisError

from parley_gateway.authn.api_keys import ApiKeyVerifier, RemoteVerify, VerifiedKey
from parley_gateway.authn.jwks import JwksCache

log = logging.getLogger(__name__)

REJECTIONS = Counter(
    "parley_gateway_authentication_rejections_total",
    "API requests refused at authentication",
    ["reason"],
)

API_KEY_PREFIX = "pk_"
_ROLES = {
    auth_pb2.ROLE_OWNER: Role.OWNER,
    auth_pb2.ROLE_ADMIN: Role.ADMIN,
    auth_pb2.ROLE_AGENT: Role.AGENT,
}


# How long after a creator's change (its revocation marker's time) auth's answers about the
# creator's keys are still verified again rather than trusted from the cache.
CREATOR_CHANGE_MARGIN_S = 3


@dataclass(frozen=True)
class Authenticated:
    """A verified principal and the end of its credential's validity (Unix seconds; None
    for an API key without an expiry)."""

    principal: Principal
    expires_at: int | None


def _invalid() -> Unauthenticated:
    return Unauthenticated("the credential is not valid", code="invalid_credential")


def remote_api_key_check(channel: grpc.aio.Channel) -> RemoteVerify:
    """AuthService.VerifyCredential as the API-key verifier's remote check."""
    stub = auth_pb2_grpc.AuthServiceStub(channel)

    async def verify(key: str) -> VerifiedKey | None:
        try:
            reply = await stub.VerifyCredential(auth_pb2.VerifyCredentialRequest(credential=key))
        except grpc.aio.AioRpcError as exc:
            if exc.code() in (grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.INVALID_ARGUMENT):
                return None
            raise Unavailable("authentication is unavailable; try again shortly") from exc
        if not reply.api_key_id or reply.role not in _ROLES:
            return None
        principal = Principal(
            tenant_id=UUID(reply.tenant_id),
            role=_ROLES[reply.role],
            api_key_id=UUID(reply.api_key_id),
            scopes=frozenset(reply.scopes),
        )
        return VerifiedKey(
            principal=principal,
            expires_at_unix=reply.expires_at_unix,
            created_by=UUID(reply.created_by_user_id) if reply.created_by_user_id else None,
        )

    return verify


class Authenticator:
    def __init__(
        self,
        *,
        jwks: JwksCache,
        api_keys: ApiKeyVerifier,
        revocations: RevocationList,
        issuer: str,
        audience: str,
        leeway_s: int,
    ) -> None:
        self._jwks = jwks
        self._api_keys = api_keys
        self._revocations = revocations
        self._issuer = issuer
        self._audience = audience
        self._leeway_s = leeway_s

    async def authenticate(self, authorization: str | None) -> Principal:
        """The verified principal behind `authorization`, or Unauthenticated/Unavailable."""
        return (await self.verify(authorization)).principal

    async def verify(self, authorization: str | None) -> Authenticated:
        """The verified principal behind `authorization` and until when its credential is
        valid, or Unauthenticated/Unavailable."""
        scheme, _, credential = (authorization or "").partition(" ")
        credential = credential.strip()
        if scheme.lower() != "bearer" or not credential:
            REJECTIONS.labels("missing").inc()
            raise Unauthenticated(
                "authentication required: send Authorization: Bearer <access token or API key>"
            )
        try:
            if credential.startswith(API_KEY_PREFIX):
                return await self._verify_api_key(credential)
            return await self._verify_access_token(credential)
        except RedisError as exc:
            raise Unavailable("authentication is unavailable; try again shortly") from exc

    async def _verify_access_token(self, credential: str) -> Authenticated:
        try:
            keys = await self._jwks.keys_for(unverified_key_id(credential))
            token = verify_access_token(
                credential,
                keys,
                issuer=self._issuer,
                audience=self._audience,
                leeway_s=self._leeway_s,
            )
        except InvalidAccessToken as exc:
            REJECTIONS.labels("invalid_token").inc()
            log.debug("access token rejected: %s", exc)
            raise _invalid() from None
        if await self._revocations.is_revoked(token.principal, token.issued_at):
            raise _revoked()
        return Authenticated(token.principal, token.expires_at)

    async def _verify_api_key(self, credential: str) -> Authenticated:
        try:
            verified = await self._api_keys.verify(credential)
            key_id = verified.principal.api_key_id
            assert key_id is not None
            tenant_id = verified.principal.tenant_id
            revoked, creator_changed_at = await self._revocations.api_key_standing(
                tenant_id, key_id, verified.created_by
            )
            if not revoked and _stale(verified, creator_changed_at):
                self._api_keys.forget(credential)
                verified = await self._api_keys.verify(credential)
        except Unauthenticated:
            REJECTIONS.labels("invalid_api_key").inc()
            raise
        if revoked:
            raise _revoked()
        return Authenticated(verified.principal, verified.expires_at_unix or None)


def _stale(verified: VerifiedKey, creator_changed_at: int | None) -> bool:
    """Whether auth's answer may predate a change of the key's creator. The marker is written
    just before the change commits, so answers within a few seconds after it are not
    trusted either."""
    if creator_changed_at is None:
        return False
    return verified.verified_at < creator_changed_at + CREATOR_CHANGE_MARGIN_S


def _revoked() -> Unauthenticated:
    REJECTIONS.labels("revoked").inc()
    return Unauthenticated(
        "this credential has been revoked; sign in again", code="credential_revoked"
    )
