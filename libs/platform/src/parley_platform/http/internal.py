"""Requests the gateway forwards to a service's internal HTTP API.

The gateway authenticates the end user (JWT or API key), then calls the owning service with
`X-Parley-Internal-Token`: a short-lived service token (see parley_platform.grpc.credentials)
addressed to that service and carrying the verified principal. A service's API routes
depend on `CurrentPrincipal`, which accepts nothing else: a client that reaches a service
port directly, or forges a principal, gets 401.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from parley_platform.context import enter_tenant
from parley_platform.errors import Unauthenticated
from parley_platform.grpc.credentials import (
    InvalidServiceCredential,
    ServiceTokenIssuer,
    verify_service_claims,
)
from parley_platform.identity import Principal

INTERNAL_TOKEN_HEADER = "x-parley-internal-token"  # noqa: S105 - a header name
INTERNAL_TOKEN_TTL_S = 60
# The end client's network address as the gateway established it (it overwrites any value a
# client sent); a service may trust it only on a request with a valid internal token.
CLIENT_ADDRESS_HEADER = "x-parley-client-address"


@dataclass(frozen=True)
class InternalCall:
    """A verified internal request: which service sent it, on behalf of whom (if anyone)."""

    caller: str
    principal: Principal | None


def internal_headers(
    issuer: ServiceTokenIssuer, audience: str, principal: Principal | None
) -> dict[str, str]:
    """Headers that authenticate a forwarded request to `audience` (gateway side)."""
    claims = {"principal": principal.to_claims()} if principal else {}
    return {INTERNAL_TOKEN_HEADER: issuer.mint(audience, claims, ttl_s=INTERNAL_TOKEN_TTL_S)}


async def internal_call(request: Request) -> InternalCall:
    """Dependency: the verified internal call (401 without a valid internal token)."""
    settings = request.app.state.runtime.settings
    try:
        claims = verify_service_claims(
            request.headers.get(INTERNAL_TOKEN_HEADER),
            settings.service_token_secret.get_secret_value(),
            settings.service_name,
        )
        principal = Principal.from_claims(claims["principal"]) if claims.get("principal") else None
    except (InvalidServiceCredential, KeyError, ValueError) as exc:
        raise Unauthenticated("this endpoint is reached through the Parley gateway") from exc
    if principal is not None:
        # The tenant is verified: logs and outgoing gRPC calls of this request carry it.
        enter_tenant(principal.tenant_id)
    return InternalCall(caller=str(claims["sub"]), principal=principal)


async def current_principal(call: Annotated[InternalCall, Depends(internal_call)]) -> Principal:
    """Dependency: the verified principal of the request (401 when there is none)."""
    if call.principal is None:
        raise Unauthenticated("authentication required")
    return call.principal


InternalCallDep = Annotated[InternalCall, Depends(internal_call)]
CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
