"""One place that turns a request's `Authorization` header into a verified principal.

`Bearer <access token>`: verified here (EdDSA pinned, kid from the cached JWKS, iss, aud,
exp). `Bearer pk_...`: an API key, verified by auth with a short cache. Either way the
principal's revocation marker is then checked in Redis (one GET): a deactivated user's
token or a revoked key fails at once. If Redis cannot answer, the request fails with 503
rather than skipping the check.
"""

from __future__ import annotations

import logging
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
        return VerifiedKey(principal=principal, expires_at_unix=reply.expires_at_unix)

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
        scheme, _, credential = (authorization or "").partition(" ")
        credential = credential.strip()
        if scheme.lower() != "bearer" or not credential:
            REJECTIONS.labels("missing").inc()
            raise Unauthenticated(
                "authentication required: send Authorization: Bearer <access token or API key>"
            )
        issued_at: int | None = None
        if credential.startswith(API_KEY_PREFIX):
            try:
                principal = await self._api_keys.verify(credential)
            except Unauthenticated:
                REJECTIONS.labels("invalid_api_key").inc()
                raise
        else:
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
            principal, issued_at = token.principal, token.issued_at
        try:
            revoked = await self._revocations.is_revoked(principal, issued_at)
        except RedisError as exc:
            raise Unavailable("authentication is unavailable; try again shortly") from exc
        if revoked:
            REJECTIONS.labels("revoked").inc()
            raise Unauthenticated(
                "this credential has been revoked; sign in again", code="credential_revoked"
            )
        return principal
