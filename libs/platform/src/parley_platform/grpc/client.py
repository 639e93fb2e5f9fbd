"""Calling another Parley service over gRPC.

Every channel made here: attaches this service's credential for the target, forwards the
verified tenant of the current context as metadata, propagates the trace context (client
spans), and gives every call a deadline when the caller set none.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import grpc

from parley_platform import telemetry
from parley_platform.context import current_tenant
from parley_platform.errors import ParleyError, from_grpc
from parley_platform.grpc.credentials import AUTH_METADATA, TENANT_METADATA, ServiceTokenIssuer
from parley_platform.settings import ServiceSettings
from parley_platform.transport import grpc_channel_credentials


class _CallDefaults(grpc.aio.UnaryUnaryClientInterceptor, grpc.aio.UnaryStreamClientInterceptor):
    """Adds credential, tenant and default deadline to each call."""

    def __init__(self, issuer: ServiceTokenIssuer, audience: str, deadline_s: float) -> None:
        self._issuer = issuer
        self._audience = audience
        self._deadline_s = deadline_s

    def _details(self, details: grpc.aio.ClientCallDetails) -> grpc.aio.ClientCallDetails:
        metadata = grpc.aio.Metadata(*(details.metadata or ()))
        metadata[AUTH_METADATA] = f"Bearer {self._issuer.token_for(self._audience)}"
        tenant = current_tenant()
        if tenant is not None and TENANT_METADATA not in metadata:
            metadata[TENANT_METADATA] = str(tenant)
        return grpc.aio.ClientCallDetails(
            method=details.method,
            timeout=details.timeout if details.timeout is not None else self._deadline_s,
            metadata=metadata,
            credentials=details.credentials,
            wait_for_ready=details.wait_for_ready,
        )

    async def intercept_unary_unary(
        self, continuation: Callable[..., Any], details: Any, request: Any
    ) -> Any:
        return await continuation(self._details(details), request)

    async def intercept_unary_stream(
        self, continuation: Callable[..., Any], details: Any, request: Any
    ) -> Any:
        return await continuation(self._details(details), request)


def create_channel(settings: ServiceSettings, target: str, target_service: str) -> grpc.aio.Channel:
    """A channel from this service to `target_service` listening at `target` (host:port)."""
    issuer = ServiceTokenIssuer(
        settings.service_token_secret.get_secret_value(), settings.service_name
    )
    interceptors: list[Any] = [
        *telemetry.grpc_client_interceptors(),
        _CallDefaults(issuer, target_service, settings.grpc_deadline_s),
    ]
    options: list[tuple[str, int | str]] = [
        ("grpc.keepalive_time_ms", 30_000),
        ("grpc.enable_retries", 1),
    ]
    credentials = grpc_channel_credentials(settings)
    if credentials is None:
        return grpc.aio.insecure_channel(target, interceptors=interceptors, options=options)
    # The callee's certificate must name the service we mean to reach, whatever the address.
    options.append(("grpc.ssl_target_name_override", target_service))
    return grpc.aio.secure_channel(target, credentials, interceptors=interceptors, options=options)


def domain_error(error: grpc.aio.AioRpcError) -> ParleyError:
    """The domain error matching a failed call, to re-raise in the caller's terms."""
    return from_grpc(error.code(), error.details() or error.code().name)
