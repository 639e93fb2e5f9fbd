"""Internal gRPC: only authenticated services get in, and the tenant and trace travel along."""

from __future__ import annotations

import uuid

import grpc
import jwt
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from opentelemetry import trace
from parley.knowledge.v1 import knowledge_pb2, knowledge_pb2_grpc
from parley_platform.context import current_tenant, tenant_scope
from parley_platform.errors import NotFound
from parley_platform.grpc import GrpcServer, create_channel, current_caller
from parley_platform.telemetry import setup_telemetry

SEARCH = "/parley.knowledge.v1.KnowledgeService/Search"


class EchoKnowledge(knowledge_pb2_grpc.KnowledgeServiceServicer):
    """Answers with what the server saw: tenant, trace id and calling service."""

    async def Search(self, request, context):
        if request.query == "missing":
            raise NotFound("no such document")
        span = trace.get_current_span().get_span_context()
        seen = f"{current_tenant()}|{format(span.trace_id, '032x')}|{current_caller()}"
        return knowledge_pb2.SearchResponse(chunks=[knowledge_pb2.Chunk(text=seen)])


@pytest.fixture
async def server(settings):
    setup_telemetry(settings)
    srv = GrpcServer(
        settings,
        register=[
            lambda s: knowledge_pb2_grpc.add_KnowledgeServiceServicer_to_server(EchoKnowledge(), s)
        ],
        service_names=["parley.knowledge.v1.KnowledgeService"],
    )
    await srv.start()
    yield srv
    await srv.stop(0)


async def test_a_call_carries_the_tenant_and_the_trace_to_the_server(settings, server) -> None:
    channel = create_channel(settings, f"127.0.0.1:{server.port}", settings.service_name)
    tenant = uuid.uuid4()
    try:
        with (
            trace.get_tracer("test").start_as_current_span("client work") as span,
            tenant_scope(tenant),
        ):
            response = await knowledge_pb2_grpc.KnowledgeServiceStub(channel).Search(
                knowledge_pb2.SearchRequest(query="hours")
            )
            trace_id = format(span.get_span_context().trace_id, "032x")
    finally:
        await channel.close()
    assert response.chunks[0].text == f"{tenant}|{trace_id}|{settings.service_name}"


async def test_a_call_without_service_credentials_is_rejected(server) -> None:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await knowledge_pb2_grpc.KnowledgeServiceStub(channel).Search(
                knowledge_pb2.SearchRequest(query="hours"), timeout=5
            )
    assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED


@pytest.mark.parametrize(
    "claims_change, secret",
    [
        ({}, "not-the-cluster-secret-but-long-enough"),  # forged signature
        ({"aud": "some-other-service"}, None),  # a token meant for another service
        ({"exp": 1}, None),
    ],  # expired
)
async def test_a_forged_expired_or_misaddressed_credential_is_rejected(
    settings, server, claims_change, secret
) -> None:
    import time

    claims = {
        "iss": "parley-services",
        "sub": "gateway",
        "aud": settings.service_name,
        "iat": int(time.time()),
        "exp": int(time.time()) + 60,
        **claims_change,
    }
    token = jwt.encode(
        claims, secret or settings.service_token_secret.get_secret_value(), algorithm="HS256"
    )
    async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await knowledge_pb2_grpc.KnowledgeServiceStub(channel).Search(
                knowledge_pb2.SearchRequest(query="x"),
                timeout=5,
                metadata=[("authorization", f"Bearer {token}")],
            )
    assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_a_method_can_be_limited_to_named_callers(settings) -> None:
    srv = GrpcServer(
        settings,
        register=[
            lambda s: knowledge_pb2_grpc.add_KnowledgeServiceServicer_to_server(EchoKnowledge(), s)
        ],
        service_names=["parley.knowledge.v1.KnowledgeService"],
        allowed_callers={SEARCH: {"ai"}},
    )
    await srv.start()
    channel = create_channel(settings, f"127.0.0.1:{srv.port}", settings.service_name)
    try:
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await knowledge_pb2_grpc.KnowledgeServiceStub(channel).Search(
                knowledge_pb2.SearchRequest()
            )
        assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
    finally:
        await channel.close()
        await srv.stop(0)


async def test_domain_errors_become_status_codes_and_health_needs_no_credential(
    settings, server
) -> None:
    channel = create_channel(settings, f"127.0.0.1:{server.port}", settings.service_name)
    try:
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await knowledge_pb2_grpc.KnowledgeServiceStub(channel).Search(
                knowledge_pb2.SearchRequest(query="missing")
            )
        assert err.value.code() == grpc.StatusCode.NOT_FOUND
        assert err.value.details() == "no such document"
    finally:
        await channel.close()
    async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as probe:
        reply = await health_pb2_grpc.HealthStub(probe).Check(
            health_pb2.HealthCheckRequest(), timeout=5
        )
    assert reply.status == health_pb2.HealthCheckResponse.SERVING


async def _reflection_answers(port: int) -> bool:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = reflection_pb2_grpc.ServerReflectionStub(channel)
        request = reflection_pb2.ServerReflectionRequest(list_services="")
        try:
            async for reply in stub.ServerReflectionInfo(iter([request]), timeout=5):
                return bool(reply.list_services_response.service)
        except grpc.aio.AioRpcError as err:
            if err.code() == grpc.StatusCode.UNIMPLEMENTED:
                return False
            raise
    return False


async def test_reflection_lists_the_api_in_development_only(settings) -> None:
    """Outside development reflection would hand anyone who reaches the port the whole API."""
    answers = {}
    for environment in ("development", "test", "production"):
        srv = GrpcServer(
            settings.model_copy(
                update={"environment": environment, "allow_plaintext_transport": True}
            ),
            register=[],
            service_names=[],
        )
        await srv.start()
        try:
            assert srv.port is not None
            answers[environment] = await _reflection_answers(srv.port)
        finally:
            await srv.stop(0)
    assert answers == {"development": True, "test": False, "production": False}


async def test_the_readiness_health_entry_follows_the_services_checks(settings) -> None:
    """The kubelet's gRPC readiness probe asks for `readiness`; callers checking the server
    itself ("") are not made unready by the callee's own dependencies."""
    from parley_platform.http import create_service_app
    from parley_platform.runtime import Resources, ServiceRuntime
    from parley_testing.polling import eventually
    from parley_testing.services import serve_app

    async def wire(resources: Resources) -> None:
        resources.serve_grpc(register=[], service_names=[])

    runtime = ServiceRuntime(settings.model_copy(update={"grpc_probe_port": 0}), wire)
    async with serve_app(create_service_app(runtime, title="test")):
        assert runtime.grpc_server is not None
        probe_port = runtime.grpc_server.probe_port
        healthy = True

        async def dependency() -> None:
            if not healthy:
                raise ConnectionError("database down")

        runtime.add_readiness_check("database", dependency)

        async def status(service: str) -> int:
            async with grpc.aio.insecure_channel(f"127.0.0.1:{probe_port}") as channel:
                reply = await health_pb2_grpc.HealthStub(channel).Check(
                    health_pb2.HealthCheckRequest(service=service), timeout=5
                )
            return reply.status

        serving = health_pb2.HealthCheckResponse.SERVING
        assert await status("readiness") == serving
        healthy = False

        async def not_ready() -> bool:
            return await status("readiness") == health_pb2.HealthCheckResponse.NOT_SERVING

        await eventually(not_ready, timeout_s=30, interval_s=0.5)
        assert await status("") == serving
        healthy = True

        async def ready_again() -> bool:
            return await status("readiness") == serving

        await eventually(ready_again, timeout_s=30, interval_s=0.5)
