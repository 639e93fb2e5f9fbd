"""The public API proxy: what it forwards and what it never does, body limits, unreachable
and slow services, and Server-Sent Events streamed through without buffering.

The service behind the gateway here is a small Parley service app built for the test (the
platform's app, internal-token checks included) on the conversation service's route, so
that the test can see exactly what arrives upstream and when the stream is closed
(`probed_edge_factory`, conftest.py).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from parley_testing.edge import Edge
from parley_testing.polling import eventually


@pytest.fixture
async def probed_edge(probed_edge_factory) -> AsyncIterator[tuple[Edge, Any]]:
    async with probed_edge_factory(
        gateway={
            "api_body_limit_bytes": 1000,
            "upload_body_limit_bytes": 5000,
            # Well below the slow route's 5 s, well above a sign-up on a busy machine
            # (0.5 s failed a CI run: sign-up goes through the same bound).
            "upstream_timeout_s": 2.0,
        }
    ) as running:
        yield running


async def test_the_gateway_forwards_the_verified_principal_and_nothing_of_the_clients(
    probed_edge,
) -> None:
    edge, _ = probed_edge
    owner = await edge.sign_up()
    response = await owner.post(
        "/api/v1/conversations/echo?page=2&q=a%20b",
        content=b"hello",
        headers={
            "Cookie": "session=stolen",
            "X-Parley-Internal-Token": "forged",
            "X-Parley-Client-Address": "6.6.6.6",
            "X-Forwarded-For": "7.7.7.7",
            "Baggage": "tenant_id=someone-else",
            "X-Request-Id": "r-1",
        },
    )
    assert response.status_code == 200, response.text
    seen = response.json()
    headers = seen["headers"]
    assert seen["caller"] == "gateway"
    assert seen["principal"]["tenant_id"] == str(owner.tenant_id)
    assert seen["principal"]["user_id"] == str(owner.user_id)
    assert seen["principal"]["role"] == "owner"
    for dropped in ("authorization", "cookie", "x-forwarded-for", "baggage"):
        assert dropped not in headers, dropped
    assert headers["x-parley-internal-token"] != "forged"
    assert headers["x-parley-client-address"] == "127.0.0.1"
    assert headers["x-request-id"] == "r-1" and seen["body_length"] == 5
    assert seen["query"] == "page=2&q=a%20b"


async def test_unknown_routes_and_path_tricks_get_404(probed_edge) -> None:
    edge, _ = probed_edge
    owner = await edge.sign_up()
    for path in (
        "/api/v1/nothing-here",
        "/api/v1/usersx",
        "/api/v1/conversations/../users",
        "/api/v1/conversations/%2e%2e/users",
        "/api/v1/conversations/./echo",
    ):
        status, body = await _raw_get(edge.gateway.base_url, path, owner.headers())
        assert status == 404, path
        assert json.loads(body)["error"]["code"] == "not_found"


async def test_request_bodies_are_limited(probed_edge) -> None:
    edge, _ = probed_edge
    owner = await edge.sign_up()
    ok = await owner.post("/api/v1/conversations/echo", content=b"x" * 1000)
    assert ok.status_code == 200 and ok.json()["body_length"] == 1000
    too_big = await owner.post("/api/v1/conversations/echo", content=b"x" * 1001)
    assert too_big.status_code == 413
    assert too_big.json()["error"]["code"] == "payload_too_large"

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted as it streams
        for _ in range(5):
            yield b"y" * 400

    chunked = await owner.post("/api/v1/conversations/echo", content=chunks())
    assert chunked.status_code == 413
    # Uploads have their own, larger limit (the knowledge service is down here: 503 after
    # the size check passed; 413 before reaching it).
    upload = await owner.post("/api/v1/knowledge/documents", content=b"z" * 3000)
    assert upload.status_code == 503
    huge_upload = await owner.post("/api/v1/knowledge/documents", content=b"z" * 5001)
    assert huge_upload.status_code == 413


async def test_an_unreachable_service_answers_503_and_a_slow_one_504(probed_edge) -> None:
    edge, _ = probed_edge
    owner = await edge.sign_up()
    for path in ("/api/v1/knowledge/documents", "/api/v1/media/123", "/api/v1/contacts"):
        response = await owner.get(path)
        assert response.status_code in (503, 404), path  # contacts: probe has no such route
    down = await owner.get("/api/v1/knowledge/documents")
    assert down.status_code == 503
    assert down.json()["error"]["code"] == "unavailable"
    assert "knowledge" in down.json()["error"]["message"] and "Traceback" not in down.text
    slow = await owner.get("/api/v1/conversations/slow")
    assert slow.status_code == 504 and slow.json()["error"]["code"] == "upstream_timeout"
    # Unauthenticated callers learn nothing about which services are up.
    assert (await edge.anonymous().get("/api/v1/knowledge/documents")).status_code == 401


async def test_server_sent_events_stream_through_and_close_with_the_client(probed_edge) -> None:
    edge, probe = probed_edge
    owner = await edge.sign_up()
    async with edge.gateway.client.stream(
        "GET", "/api/v1/events", headers=owner.headers(), timeout=10
    ) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        lines = response.aiter_lines()
        first = await asyncio.wait_for(anext(lines), timeout=5)
        # The first event arrived while the upstream stream is still open: not buffered.
        assert first == f"data: hello {owner.tenant_id}"
        assert not probe.stream_closed.is_set()
    # The client went away: the gateway closes the upstream stream too.
    await eventually(lambda: _is_set(probe.stream_closed), timeout_s=10)
    assert probe.streams_opened == 1


async def _raw_get(base_url: str, path: str, headers: dict[str, str]) -> tuple[int, bytes]:
    """GET `path` exactly as written (HTTP clients would remove the dot segments first)."""
    host, port = base_url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    lines = [f"GET {path} HTTP/1.1", f"Host: {host}", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
    await writer.drain()
    response = await reader.read()
    writer.close()
    head, _, body = response.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


async def _is_set(event: asyncio.Event) -> bool:
    return event.is_set()
