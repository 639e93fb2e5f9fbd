"""API fuzzing: Schemathesis generates requests from the gateway's merged OpenAPI document and
sends them, as a signed-in tenant owner, through the real gateway to the real services. No
request may be answered with a 5xx, with a status the document does not list for that
operation, or with a body outside the documented schema.

Each operation gets `PARLEY_FUZZ_EXAMPLES` examples (10 by default, so that `make test` stays
within minutes; `make fuzz` runs many more). Requests come from a worker thread (Schemathesis
calls synchronously) while the services run in the test's event loop.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from parley_testing.edge import AUTH_TEST_DEFAULTS, PASSWORD, Edge, serve_edge
from parley_testing.services import RunningApp, serve_app
from parley_testing.whatsapp import running_sandbox
from schemathesis import checks
from schemathesis.core.failures import FailureGroup
from schemathesis.core.result import Err

pytestmark = [
    pytest.mark.timeout(1800),
    # The services run in this process too, and their retry jitter draws from `random` while
    # Hypothesis generates examples in the worker thread; Hypothesis takes that for a strategy
    # using `random` and warns. Nothing of ours draws from it.
    pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisDeprecationWarning"),
]
EXAMPLES = int(os.environ.get("PARLEY_FUZZ_EXAMPLES", "10"))
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
]
# Operations that would end the caller's own session or account, which every later example
# needs: they are fuzzed too, but each example signs in afresh.
SESSION_ENDING = ("/api/v1/auth/", "/api/v1/me", "/api/v1/users/{user_id}")


@dataclass
class Platform:
    """Every service behind one gateway."""

    edge: Edge
    services: dict[str, RunningApp] = field(default_factory=dict)


@asynccontextmanager
async def whole_platform(settings_factory: Any) -> AsyncIterator[Platform]:
    """auth and the gateway (serve_edge), with knowledge, conversation, ai and whatsapp
    (sending to the sandbox) behind it."""
    async with AsyncExitStack() as stack:
        sandbox = await stack.enter_async_context(running_sandbox())
        # auth verifies numbers with Meta (the sandbox) before registering them.
        auth_settings = await settings_factory(
            "auth", **AUTH_TEST_DEFAULTS, graph_api_base_url=sandbox.base_url
        )
        from parley_auth.main import create_app as create_auth

        auth = await stack.enter_async_context(serve_app(create_auth(auth_settings)))
        auth_target = f"127.0.0.1:{auth.runtime.grpc_port}"
        running: dict[str, RunningApp] = {"auth": auth}
        from parley_ai.main import create_app as create_ai
        from parley_conversation.main import create_app as create_conversation
        from parley_knowledge.main import create_app as create_knowledge
        from parley_whatsapp.main import create_app as create_whatsapp

        knowledge = await stack.enter_async_context(
            serve_app(create_knowledge(await settings_factory("knowledge")))
        )
        running["knowledge"] = knowledge
        ai_settings = await settings_factory(
            "ai", knowledge_grpc_target=f"127.0.0.1:{knowledge.runtime.grpc_port}"
        )
        running["ai"] = await stack.enter_async_context(serve_app(create_ai(ai_settings)))
        conversation_settings = await settings_factory(
            "conversation", auth_grpc_target=auth_target, ai_http_url=running["ai"].base_url
        )
        running["conversation"] = await stack.enter_async_context(
            serve_app(create_conversation(conversation_settings))
        )
        whatsapp_settings = await settings_factory(
            "whatsapp", auth_grpc_target=auth_target, graph_api_base_url=sandbox.base_url
        )
        running["whatsapp"] = await stack.enter_async_context(
            serve_app(create_whatsapp(whatsapp_settings))
        )
        edge = await stack.enter_async_context(
            serve_edge(
                settings_factory,
                auth=AUTH_TEST_DEFAULTS,
                gateway={f"{name}_http_url": app.base_url for name, app in running.items()},
            )
        )
        yield Platform(edge, running)


def fuzz_operation(operation: Any, base_url: str, sign_in: Callable[[], dict[str, str]]) -> None:
    """Send `EXAMPLES` generated requests to one operation and check every answer; raises
    on the first broken check (Hypothesis shrinks it to a minimal example first)."""
    headers = sign_in()
    ends_session = operation.path.startswith(SESSION_ENDING)

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy())
    def exercise(case: Any) -> None:
        nonlocal headers
        if ends_session:
            headers = sign_in()
        response = case.call(base_url=base_url, headers=headers)
        case.validate_response(response, checks=CHECKS)

    exercise()


def fuzz_every_operation(base_url: str, document: dict[str, Any], email: str) -> list[str]:
    """Run the checks over every operation; the failures, one line each."""
    schema = schemathesis.openapi.from_dict(document)
    failures: list[str] = []
    with httpx.Client(base_url=base_url, timeout=30) as client:

        def sign_in() -> dict[str, str]:
            for _ in range(5):
                answer = client.post(
                    "/api/v1/auth/login", json={"email": email, "password": PASSWORD}
                )
                if answer.status_code == 200:
                    return {"Authorization": f"Bearer {answer.json()['access_token']}"}
                if answer.status_code != 503:  # a busy machine may time out a sign-in
                    break
                time.sleep(1)
            raise AssertionError(f"sign-in refused ({answer.status_code}): {answer.text}")

        for result in schema.get_all_operations():
            if isinstance(result, Err):  # an operation the document describes wrongly
                failures.append(f"invalid operation in the document: {result.err()}")
                continue
            operation = result.ok()
            try:
                fuzz_operation(operation, base_url, sign_in)
            except (FailureGroup, AssertionError) as exc:
                failures.append(f"{operation.method.upper()} {operation.path}: {exc}")
    return failures


@pytest.fixture
async def platform(settings_factory) -> AsyncIterator[Platform]:
    async with whole_platform(settings_factory) as running:
        yield running


async def test_no_request_gets_a_5xx_or_an_answer_outside_the_schema(platform: Platform) -> None:
    edge = platform.edge
    owner = await edge.sign_up("Fuzzing Co")
    document = (await edge.anonymous().get("/openapi.json")).json()
    # Every service answered the gateway: the document covers the whole API.
    assert document["info"].get("x-parley-unavailable-services", []) == []
    assert owner.email is not None
    failures = await asyncio.to_thread(
        fuzz_every_operation, edge.gateway.base_url, document, owner.email
    )
    assert failures == [], "\n\n".join(failures)
