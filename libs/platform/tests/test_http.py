"""Every service's HTTP surface: one error format, no stack traces, health and metrics."""

from __future__ import annotations

import asyncio
import secrets
import uuid

import pytest
from fastapi import APIRouter, Request
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from parley_platform.context import current_tenant
from parley_platform.errors import NotFound, PreconditionFailed
from parley_platform.grpc.credentials import ServiceTokenIssuer
from parley_platform.http import create_service_app
from parley_platform.http.internal import CurrentPrincipal, internal_headers
from parley_platform.identity import Principal, Role
from parley_platform.runtime import Resources, ServiceRuntime
from parley_platform.telemetry import setup_telemetry
from parley_testing.services import principal_headers, serve_app
from pydantic import BaseModel, SecretStr
from sqlalchemy import text as sql

router = APIRouter()


class Reply(BaseModel):
    text: str
    access_token: str


@router.get("/things/{thing_id}")
async def get_thing(thing_id: str) -> dict:
    if thing_id == "window":
        raise PreconditionFailed(
            "the 24-hour window is closed; send a template", code="window_closed"
        )
    raise NotFound(f"thing {thing_id} not found")


@router.get("/crash")
async def crash() -> dict:
    raise RuntimeError("database password is hunter2")


@router.get("/outage")
async def outage() -> dict:
    # A dependency that is not listening (a Redis or database restarting).
    await asyncio.open_connection("127.0.0.1", 9)
    return {"ok": True}


@router.get("/echo")
async def echo(request: Request, text: str) -> dict:
    # Text through PostgreSQL, as every route that stores or searches text does.
    database = request.app.state.runtime.resources.database
    async with database.system_session() as session:
        stored = (await session.execute(sql("SELECT CAST(:t AS text)"), {"t": text})).scalar()
    return {"text": stored}


@router.post("/replies")
async def reply(body: Reply) -> dict:
    return {"ok": True}


@router.get("/whoami")
async def whoami(principal: CurrentPrincipal) -> dict:
    return {"tenant": str(principal.tenant_id), "context_tenant": str(current_tenant())}


@router.delete("/settings")
async def admin_only(principal: CurrentPrincipal) -> dict:
    principal.require_role(Role.ADMIN)
    return {"ok": True}


@pytest.fixture
async def app(settings):
    async def wire(resources: Resources) -> None:
        return None

    runtime = ServiceRuntime(settings, wire, database=True, producer=True)
    async with serve_app(create_service_app(runtime, title="test", routers=[router])) as running:
        yield running


async def test_domain_errors_use_the_standard_body(app) -> None:
    response = await app.client.get("/things/42")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert response.json()["error"]["message"] == "thing 42 not found"

    response = await app.client.get("/things/window")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "window_closed"


async def test_a_crash_answers_500_without_a_stack_trace_or_internals(app) -> None:
    response = await app.client.get("/crash")
    assert response.status_code == 500
    body = response.text
    assert "Traceback" not in body and "hunter2" not in body and "RuntimeError" not in body
    assert response.json()["error"]["code"] == "internal"


async def test_an_unreachable_dependency_answers_503_so_the_caller_retries(app) -> None:
    response = await app.client.get("/outage")
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "unavailable"
    assert "Traceback" not in response.text and "ConnectionRefused" not in response.text


async def test_text_postgresql_cannot_store_is_refused_as_invalid_not_a_crash(app) -> None:
    assert (await app.client.get("/echo", params={"text": "café"})).json() == {"text": "café"}
    response = await app.client.get("/echo", params={"text": "caf\x00é"})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_characters"


async def test_invalid_input_is_described_without_echoing_it(app) -> None:
    response = await app.client.post("/replies", json={"text": 5, "access_token": ["secret-value"]})
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_request"
    assert {d["field"] for d in error["details"]} == {"text", "access_token"}
    assert "secret-value" not in response.text

    response = await app.client.post(
        "/replies", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 422


async def test_health_readiness_and_metrics(app) -> None:
    assert (await app.client.get("/healthz")).json() == {"status": "ok"}
    ready = await app.ops.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": "ok", "kafka": "ok"}
    await app.client.get("/things/1")
    metrics = (await app.ops.get("/metrics")).text
    assert (
        'parley_http_requests_total{method="GET",route="/things/{thing_id}",status="404"}'
        in metrics
    )


async def test_the_public_port_tells_nothing_about_internals(app) -> None:
    """Metrics and which dependency fails are on the unpublished operations port only."""
    assert app.runtime.ops_port != int(app.base_url.rsplit(":", 1)[1])
    assert (await app.client.get("/metrics")).status_code == 404
    ready = await app.client.get("/readyz")
    assert ready.status_code == 200 and ready.json() == {"status": "ready"}
    assert (await app.client.get("/healthz")).json() == {"status": "ok"}
    assert "/metrics" not in (await app.client.get("/openapi.json")).text


async def test_readiness_fails_when_a_dependency_is_unreachable(app) -> None:
    async def broken() -> None:
        raise ConnectionError("refused")

    app.runtime.add_readiness_check("knowledge", broken)
    ready = await app.ops.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["checks"]["knowledge"] == "failed: ConnectionError"
    assert ready.json()["checks"]["database"] == "ok"
    public = await app.client.get("/readyz")
    assert public.status_code == 503 and public.json() == {"status": "not_ready"}


async def test_service_apis_accept_only_requests_forwarded_by_the_gateway(app, settings) -> None:
    tenant = uuid.uuid4()
    agent = Principal(tenant_id=tenant, role=Role.AGENT, user_id=uuid.uuid4())

    ok = await app.client.get("/whoami", headers=principal_headers(settings, agent))
    assert ok.json() == {"tenant": str(tenant), "context_tenant": str(tenant)}

    assert (await app.client.get("/whoami")).status_code == 401  # straight to the service port
    forged = principal_headers(
        settings.model_copy(update={"service_token_secret": SecretStr("x" * 40)}), agent
    )
    assert (await app.client.get("/whoami", headers=forged)).status_code == 401
    issuer = ServiceTokenIssuer(settings.service_token_secret.get_secret_value(), "gateway")
    meant_for_auth = internal_headers(issuer, "auth", agent)
    assert (await app.client.get("/whoami", headers=meant_for_auth)).status_code == 401
    anonymous = principal_headers(settings, None)
    assert (await app.client.get("/whoami", headers=anonymous)).status_code == 401


async def test_roles_are_checked_from_the_verified_principal(app, settings) -> None:
    agent = Principal(tenant_id=uuid.uuid4(), role=Role.AGENT, user_id=uuid.uuid4())
    admin = Principal(tenant_id=uuid.uuid4(), role=Role.ADMIN, user_id=uuid.uuid4())
    denied = await app.client.delete("/settings", headers=principal_headers(settings, agent))
    assert denied.status_code == 403 and denied.json()["error"]["code"] == "forbidden"
    assert (
        await app.client.delete("/settings", headers=principal_headers(settings, admin))
    ).status_code == 200


async def test_the_public_edge_starts_its_own_trace_where_a_service_continues_its_callers(
    settings,
) -> None:
    exporter = InMemorySpanExporter()
    setup_telemetry(settings, extra_processors=[SimpleSpanProcessor(exporter)])
    callers_trace = secrets.token_hex(16)

    async def server_spans(public_edge: bool, sampled: bool) -> list[ReadableSpan]:
        exporter.clear()
        runtime = ServiceRuntime(settings, lambda resources: asyncio.sleep(0))
        app = create_service_app(runtime, title="t", routers=[router], public_edge=public_edge)
        # The caller is an instrumented client inside a trace of its own (`traceparent`).
        caller = trace.NonRecordingSpan(
            trace.SpanContext(
                int(callers_trace, 16),
                int(secrets.token_hex(8), 16),
                is_remote=True,
                trace_flags=trace.TraceFlags(trace.TraceFlags.SAMPLED if sampled else 0),
            )
        )
        async with serve_app(app) as running:
            with trace.use_span(caller):
                assert (await running.client.get("/things/1")).status_code == 404
        return [s for s in exporter.get_finished_spans() if s.kind == SpanKind.SERVER]

    # Behind the gateway, a service continues its caller's trace, and its decision.
    (continued,) = await server_spans(public_edge=False, sampled=True)
    assert format(continued.context.trace_id, "032x") == callers_trace
    assert await server_spans(public_edge=False, sampled=False) == []
    # At the public edge, whatever the caller sent, the trace starts here and is recorded.
    for sampled in (True, False):
        (own,) = await server_spans(public_edge=True, sampled=sampled)
        assert format(own.context.trace_id, "032x") != callers_trace
        assert own.parent is None


async def test_requests_on_one_kept_alive_connection_are_separate_traces(settings) -> None:
    exporter = InMemorySpanExporter()
    setup_telemetry(settings, extra_processors=[SimpleSpanProcessor(exporter)])
    runtime = ServiceRuntime(settings, lambda resources: asyncio.sleep(0))
    app = create_service_app(runtime, title="t", routers=[router])
    async with serve_app(app) as running:
        # One client: one kept-alive connection. A body larger than uvicorn's read buffer
        # makes it pause reading, then resume from inside the request (python/cpython#140947).
        for _ in range(40):
            body = {"text": "x" * 100_000, "access_token": "token"}
            assert (await running.client.post("/replies", json=body)).status_code == 200
    spans = exporter.get_finished_spans()
    # Each request's server span is the child of the client's span for it, never of the
    # previous request's server span (nor an internal span inside it).
    client_span_ids = {s.context.span_id for s in spans if s.kind == SpanKind.CLIENT}
    served = [s for s in spans if s.name.startswith("POST /replies")]
    assert [s.kind for s in served] == [SpanKind.SERVER] * 40
    assert all(s.parent is not None and s.parent.span_id in client_span_ids for s in served)
    assert len({s.context.trace_id for s in served}) == 40
