"""Every service's HTTP surface: one error format, no stack traces, health and metrics."""

from __future__ import annotations

import pytest
from fastapi import APIRouter
from parley_platform.errors import NotFound, PreconditionFailed
from parley_platform.http import create_service_app
from parley_platform.runtime import ServiceRuntime
from parley_testing.services import serve_app
from pydantic import BaseModel

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


@pytest.fixture
async def app(settings):
    runtime = ServiceRuntime(settings, database=True, producer=True)
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
    ready = await app.client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": "ok", "kafka": "ok"}
    await app.client.get("/things/1")
    metrics = (await app.client.get("/metrics")).text
    assert (
        'parley_http_requests_total{method="GET",route="/things/{thing_id}",status="404"}'
        in metrics
    )


async def test_readiness_fails_when_a_dependency_is_unreachable(app) -> None:
    async def broken() -> None:
        raise ConnectionError("refused")

    app.runtime.add_readiness_check("knowledge", broken)
    ready = await app.client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["checks"]["knowledge"] == "failed: ConnectionError"
    assert ready.json()["checks"]["database"] == "ok"
