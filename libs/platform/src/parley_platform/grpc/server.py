"""The gRPC server every service with gRPC methods runs.

It always has: the standard health service (for probes, no credential needed), OpenTelemetry
server spans (health checks excluded), service-credential checks with optional per-method
caller lists, the verified tenant from metadata put in context, and domain errors mapped to
status codes. Reflection is on in development only: elsewhere it would hand anyone who
reaches the port the whole API.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Collection, Mapping, Sequence
from contextvars import ContextVar
from typing import Any
from uuid import UUID

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from parley_platform import telemetry
from parley_platform.context import tenant_scope
from parley_platform.errors import ParleyError
from parley_platform.grpc.credentials import (
    AUTH_METADATA,
    TENANT_METADATA,
    InvalidServiceCredential,
    verify_service_token,
)
from parley_platform.settings import Environment, ServiceSettings
from parley_platform.transport import (
    grpc_server_credentials,
    grpc_tls_enabled,
    peer_service,
    require_encrypted_transport,
)

log = logging.getLogger(__name__)

_current_caller: ContextVar[str | None] = ContextVar("parley_grpc_caller", default=None)
_OPEN_METHOD_PREFIXES = ("/grpc.health.v1.Health/", "/grpc.reflection.")
# The health entry that follows the service's readiness checks (the kubelet's gRPC readiness
# probe asks for it). The server's own entry ("") and its services' stay SERVING while it
# runs: a caller's readiness must not fail because a dependency of the callee blinked.
READINESS_HEALTH_SERVICE = "readiness"


def current_caller() -> str | None:
    """The authenticated service that made the gRPC call being handled."""
    return _current_caller.get()


def _wrap_handler(
    handler: grpc.RpcMethodHandler, around: Callable[[Any], Any]
) -> grpc.RpcMethodHandler:
    """A handler of the same kind whose behaviour runs inside `around(context)`."""

    if handler.unary_unary:
        inner_uu = handler.unary_unary

        async def unary_unary(request: Any, context: grpc.aio.ServicerContext) -> Any:
            async with around(context):
                return await inner_uu(request, context)

        return grpc.unary_unary_rpc_method_handler(
            unary_unary, handler.request_deserializer, handler.response_serializer
        )
    if handler.unary_stream:
        inner_us = handler.unary_stream

        async def unary_stream(
            request: Any, context: grpc.aio.ServicerContext
        ) -> AsyncIterator[Any]:
            async with around(context):
                async for item in inner_us(request, context):
                    yield item

        return grpc.unary_stream_rpc_method_handler(
            unary_stream, handler.request_deserializer, handler.response_serializer
        )
    raise NotImplementedError("Parley exposes unary-unary and unary-stream methods only")


class _CallGuard:
    """Per call: check the caller, scope the tenant, map domain errors to status codes."""

    def __init__(
        self,
        caller: str | None,
        tenant: UUID | None,
        error: tuple[grpc.StatusCode, str] | None,
        *,
        bind_certificate: bool,
    ) -> None:
        self.caller, self.tenant, self.error = caller, tenant, error
        self.bind_certificate = bind_certificate

    def __call__(self, context: grpc.aio.ServicerContext) -> _CallGuard:
        self.context = context
        return self

    async def __aenter__(self) -> None:
        if self.error is not None:
            await self.context.abort(*self.error)
        if self.bind_certificate and peer_service(self.context) != self.caller:
            # With mutual TLS, the service credential must come from the service the
            # certificate names: the shared token secret alone cannot pose as another.
            await self.context.abort(
                grpc.StatusCode.PERMISSION_DENIED,
                "the caller's certificate does not name the service in its credential",
            )
        self._caller_token = _current_caller.set(self.caller)
        self._tenant_scope = tenant_scope(self.tenant) if self.tenant else None
        if self._tenant_scope:
            self._tenant_scope.__enter__()

    async def __aexit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> bool:
        if self._tenant_scope:
            self._tenant_scope.__exit__(exc_type, exc, tb)
        _current_caller.reset(self._caller_token)
        if isinstance(exc, ParleyError):
            await self.context.abort(exc.grpc_code, exc.message)
        return False


class _ServiceAuthInterceptor(grpc.aio.ServerInterceptor):
    def __init__(
        self, settings: ServiceSettings, allowed_callers: Mapping[str, Collection[str]]
    ) -> None:
        self._secret = settings.service_token_secret.get_secret_value()
        self._audience = settings.service_name
        self._allowed = allowed_callers
        self._bind_certificate = grpc_tls_enabled(settings)

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Any],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(details)
        if handler is None or details.method.startswith(_OPEN_METHOD_PREFIXES):
            return handler
        metadata = {k: v for k, v in (details.invocation_metadata or ()) if isinstance(v, str)}
        caller: str | None = None
        tenant: UUID | None = None
        error: tuple[grpc.StatusCode, str] | None = None
        try:
            caller = verify_service_token(metadata.get(AUTH_METADATA), self._secret, self._audience)
            allowed = self._allowed.get(details.method)
            if allowed is not None and caller not in allowed:
                error = (
                    grpc.StatusCode.PERMISSION_DENIED,
                    f"{caller} may not call {details.method}",
                )
            elif raw_tenant := metadata.get(TENANT_METADATA):
                tenant = UUID(raw_tenant)
        except InvalidServiceCredential as exc:
            error = (grpc.StatusCode.UNAUTHENTICATED, str(exc))
        except ValueError:
            error = (grpc.StatusCode.INVALID_ARGUMENT, f"malformed {TENANT_METADATA}")
        return _wrap_handler(
            handler, _CallGuard(caller, tenant, error, bind_certificate=self._bind_certificate)
        )


class GrpcServer:
    """A grpc.aio server with Parley's standard services and interceptors."""

    def __init__(
        self,
        settings: ServiceSettings,
        *,
        register: Sequence[Callable[[grpc.aio.Server], None]],
        service_names: Sequence[str],
        allowed_callers: Mapping[str, Collection[str]] | None = None,
    ) -> None:
        self.settings = settings
        self._register = register
        self._service_names = list(service_names)
        self._allowed = allowed_callers or {}
        self._server: grpc.aio.Server | None = None
        self._probe_server: grpc.aio.Server | None = None
        self._health = health.aio.HealthServicer()
        self.port: int | None = None
        self.probe_port: int | None = None

    async def start(self) -> int:
        """Bind and serve; returns the port (useful when the configured port is 0)."""
        require_encrypted_transport(
            self.settings, database=False, redis=False, kafka=False, grpc_used=True
        )
        # Interceptors are passed explicitly so nothing depends on patching grpc.aio.server.
        server = grpc.aio.server(
            interceptors=[
                telemetry.grpc_server_interceptor(),
                _ServiceAuthInterceptor(self.settings, self._allowed),
            ],
            options=[("grpc.so_reuseport", 0)],
        )
        for register in self._register:
            register(server)
        health_pb2_grpc.add_HealthServicer_to_server(self._health, server)
        if self.settings.environment == Environment.DEVELOPMENT:
            reflection.enable_server_reflection(
                [*self._service_names, health.SERVICE_NAME, reflection.SERVICE_NAME], server
            )
        address = f"{self.settings.grpc_host}:{self.settings.grpc_port}"
        credentials = grpc_server_credentials(self.settings)
        if credentials is None:
            self.port = server.add_insecure_port(address)
        else:
            self.port = server.add_secure_port(address, credentials)
        if self.settings.grpc_probe_port is not None:
            await self._start_probe_server()
        await server.start()
        for name in ("", *self._service_names):
            await self._health.set(name, health_pb2.HealthCheckResponse.SERVING)
        await self.set_ready(True)
        self._server = server
        log.info("gRPC server listening", extra={"port": self.port})
        return self.port

    async def set_ready(self, ready: bool) -> None:
        """What grpc.health.v1 answers for `readiness` (the runtime follows its readiness
        checks, so a native gRPC readiness probe sees them)."""
        await self._health.set(
            READINESS_HEALTH_SERVICE,
            health_pb2.HealthCheckResponse.SERVING
            if ready
            else health_pb2.HealthCheckResponse.NOT_SERVING,
        )

    async def _start_probe_server(self) -> None:
        """A plaintext server with only the health service, for the kubelet's gRPC probes
        (which cannot speak TLS); it shares the main server's health states."""
        probe = grpc.aio.server(options=[("grpc.so_reuseport", 0)])
        health_pb2_grpc.add_HealthServicer_to_server(self._health, probe)
        self.probe_port = probe.add_insecure_port(
            f"{self.settings.grpc_host}:{self.settings.grpc_probe_port}"
        )
        await probe.start()
        self._probe_server = probe

    async def stop(self, grace_s: float = 5.0) -> None:
        if self._server is not None:
            await self._health.enter_graceful_shutdown()
            await self._server.stop(grace_s)
            self._server = None
        if self._probe_server is not None:
            await self._probe_server.stop(0)
            self._probe_server = None
