"""Every service's HTTP surface: one error format, no stack traces, health and metrics."""

from __future__ import annotations

import uuid

import pytest
from fastapi import APIRouter
from parley_platform.context import current_tenant
from parley_platform.errors import NotFound, PreconditionFailed
from parley_platform.grpc.credentials import ServiceTokenIssuer
from parley_platform.http import create_service_app
from parley_platform.http.internal import CurrentPrincipal, internal_headers
from parley_platform.identity import Principal, Role
from parley_platform.runtime import Resources, ServiceRuntime
from parley_testing.services import principal_headers, serve_app
from pydantic import BaseModel, SecretStr

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
