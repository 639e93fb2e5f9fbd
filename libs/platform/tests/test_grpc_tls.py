"""gRPC over mutual TLS with per-service identities: only a caller whose certificate names
the service in its credential gets in, plaintext does not connect at all, and the kubelet's
plaintext health probe still works on its own port."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import ClassVar

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from parley.knowledge.v1 import knowledge_pb2, knowledge_pb2_grpc
from parley_platform.grpc import GrpcServer, create_channel, current_caller
from parley_platform.settings import service_config
from parley_testing.tls import TestCertificateAuthority

from .conftest import PlatformTestSettings


class KnowledgeSide(PlatformTestSettings):
    model_config = service_config("platformtest")
    service_name: ClassVar[str] = "knowledge"


class AiSide(PlatformTestSettings):
    model_config = service_config("platformtest")
    service_name: ClassVar[str] = "ai"


class WhoCalls(knowledge_pb2_grpc.KnowledgeServiceServicer):
    async def Search(self, request, context):
        return knowledge_pb2.SearchResponse(chunks=[knowledge_pb2.Chunk(text=current_caller())])


def with_identity(settings, cls, certificate):
    values = settings.model_dump() | {
        "grpc_tls_cert_file": str(certificate.cert_file),
        "grpc_tls_key_file": str(certificate.key_file),
        "grpc_tls_ca_file": str(certificate.ca_file),
        "grpc_probe_port": 0,
    }
    return cls(**values)


@pytest.fixture
def authority(tmp_path) -> TestCertificateAuthority:
    return TestCertificateAuthority(tmp_path)


@pytest.fixture
async def knowledge(settings, authority) -> AsyncIterator[GrpcServer]:
    server = GrpcServer(
        with_identity(settings, KnowledgeSide, authority.issue("knowledge")),
        register=[
            lambda s: knowledge_pb2_grpc.add_KnowledgeServiceServicer_to_server(WhoCalls(), s)
        ],
        service_names=["parley.knowledge.v1.KnowledgeService"],
    )
    await server.start()
    yield server
    await server.stop(0)


async def search(channel: grpc.aio.Channel) -> str:
    response = await knowledge_pb2_grpc.KnowledgeServiceStub(channel).Search(
        knowledge_pb2.SearchRequest(query="hours"), timeout=5
    )
    return response.chunks[0].text


async def test_a_service_with_its_own_certificate_is_served(settings, authority, knowledge):
    ai = with_identity(settings, AiSide, authority.issue("ai"))
    channel = create_channel(ai, f"127.0.0.1:{knowledge.port}", "knowledge")
    try:
        assert await search(channel) == "ai"
    finally:
        await channel.close()


async def test_a_certificate_of_another_service_cannot_carry_this_credential(
    settings, authority, knowledge
):
    """`ai`'s token secret is shared, but its certificate says `whatsapp`: refused."""
    ai = with_identity(settings, AiSide, authority.issue("whatsapp"))
    channel = create_channel(ai, f"127.0.0.1:{knowledge.port}", "knowledge")
    try:
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await search(channel)
        assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
    finally:
        await channel.close()


async def test_a_certificate_from_another_authority_does_not_connect(settings, tmp_path, knowledge):
    stranger = TestCertificateAuthority(tmp_path / "..", name="stranger-ca").issue("ai")
    ai = with_identity(settings, AiSide, stranger)
    channel = create_channel(ai, f"127.0.0.1:{knowledge.port}", "knowledge")
    try:
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await search(channel)
        assert err.value.code() == grpc.StatusCode.UNAVAILABLE
    finally:
        await channel.close()


async def test_plaintext_reaches_only_the_probe_port_and_only_health(settings, knowledge):
    plaintext = create_channel(settings, f"127.0.0.1:{knowledge.port}", "knowledge")
    try:
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await search(plaintext)
        assert err.value.code() == grpc.StatusCode.UNAVAILABLE
    finally:
        await plaintext.close()

    assert knowledge.probe_port
    async with grpc.aio.insecure_channel(f"127.0.0.1:{knowledge.probe_port}") as probe:
        reply = await health_pb2_grpc.HealthStub(probe).Check(
            health_pb2.HealthCheckRequest(), timeout=5
        )
        assert reply.status == health_pb2.HealthCheckResponse.SERVING
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await search(probe)
        assert err.value.code() == grpc.StatusCode.UNIMPLEMENTED
