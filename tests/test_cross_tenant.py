"""Tenant A's credentials on tenant B's ids, for every `/api/v1` route that takes one, read from
the OpenAPI document the gateway serves: never a 2xx, never any of B's data, and B's data
unchanged afterwards.

The routes come from the document, not from a list: a new route is covered the day it lands.
Its path parameters are filled from what B owns (`B_IDS`, by parameter name); a route with a
parameter this test cannot fill fails the test, so that whoever adds it says here how to
make one of B's. Request bodies are generated from each operation's schema (valid shapes,
with A's own ids where an id is asked for), so the calls reach the ownership checks rather
than stopping at validation.

Every service with routes runs for real behind the gateway (as in tests/test_services_start.py),
and B's data is made the way a business makes it: a customer writes (text and a picture) to
B's number through the sandbox, B's team works in the inbox, B adds a document.
"""

from __future__ import annotations

import base64
import re
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import Any

import pytest
from parley_ai.main import create_app as create_ai
from parley_conversation.main import create_app as create_conversation
from parley_knowledge.main import create_app as create_knowledge
from parley_testing.edge import ApiClient, Edge, serve_edge
from parley_testing.polling import eventually
from parley_testing.services import free_port, serve_app
from parley_whatsapp.main import create_app as create_whatsapp

METHODS = ("get", "post", "put", "patch", "delete")
PICTURE = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8
# Path parameters that are not ids: what B has under that name.
NOT_IDS = {"label"}


@dataclass
class Tenant:
    """A signed-in owner and what their tenant owns: ids by path-parameter name, and text
    that only this tenant's data contains."""

    owner: ApiClient
    ids: dict[str, str] = field(default_factory=dict)
    secrets: list[str] = field(default_factory=list)


@dataclass
class Platform:
    edge: Edge


@pytest.fixture
async def platform(settings_factory) -> AsyncIterator[Platform]:
    ports = {name: free_port() for name in ("conversation", "knowledge", "ai", "whatsapp")}
    urls = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    async with AsyncExitStack() as stack:
        edge = await stack.enter_async_context(
            serve_edge(
                settings_factory,
                gateway={f"{name}_http_url": url for name, url in urls.items()},
            )
        )
        knowledge = await stack.enter_async_context(
            serve_app(
                create_knowledge(
                    # A website import of a local address (nothing listens there: its crawl
                    # fails, the import stays, which is all a route needs).
                    await settings_factory("knowledge", crawl_allow_private_addresses=True)
                ),
                port=ports["knowledge"],
            )
        )
        ai = await settings_factory(
            "ai", knowledge_grpc_target=f"127.0.0.1:{knowledge.runtime.grpc_port}"
        )
        await stack.enter_async_context(serve_app(create_ai(ai), port=ports["ai"]))
        conversation = await settings_factory(
            "conversation", auth_grpc_target=edge.auth_grpc_target, ai_http_url=urls["ai"]
        )
        running_conversation = await stack.enter_async_context(
            serve_app(create_conversation(conversation), port=ports["conversation"])
        )
        whatsapp = await settings_factory(
            "whatsapp",
            auth_grpc_target=edge.auth_grpc_target,
            graph_api_base_url=edge.sandbox.base_url,
            conversation_http_url=urls["conversation"],
        )
        await stack.enter_async_context(
            serve_app(create_whatsapp(whatsapp), port=ports["whatsapp"])
        )
        for consumer in (*running_conversation.runtime.consumers, *knowledge.runtime.consumers):
            await consumer.wait_until_assigned()
        yield Platform(edge)


async def _created(response: Any) -> dict[str, Any]:
    assert response.status_code in (200, 201, 202), response.text
    return dict(response.json())


async def populate(edge: Edge, tag: str) -> Tenant:
    """A tenant with one of everything a route can name."""
    marker = f"{tag}{uuid.uuid4().hex[:8]}"
    owner = await edge.sign_up(f"{marker} Company")
    tenant = Tenant(owner, secrets=[marker, str(owner.tenant_id), str(owner.email)])
    agent = await edge.add_user(owner, "agent")
    team = await _created(await owner.post("/api/v1/teams", json={"name": f"{marker} team"}))
    await owner.put(f"/api/v1/teams/{team['id']}/members/{agent.user_id}")
    key = await _created(
        await owner.post("/api/v1/api-keys", json={"name": f"{marker} key", "scopes": []})
    )
    number = await edge.new_number()
    channel = await _created(
        await owner.post("/api/v1/channels/whatsapp", json=number.registration())
    )
    tenant.secrets += [number.phone_number_id, str(agent.email)]
    customer = f"3519{uuid.uuid4().int % 10**8:08d}"
    for message in (
        {"text": f"{marker} says hello"},
        {
            "media_kind": "image",
            "media": {"data_base64": base64.b64encode(PICTURE).decode(), "mime_type": "image/png"},
        },
    ):
        written = await edge.sandbox.client.post(
            f"/sandbox/customers/{customer}/messages",
            json={"phone_number_id": number.phone_number_id, "name": f"{marker} Ana", **message},
        )
        assert written.json()["webhook_status"] == 200, written.text

    async def conversation_with_media() -> tuple[dict, list[dict]] | None:
        listed = (await owner.get("/api/v1/conversations")).json().get("items") or []
        if not listed:
            return None
        messages = (await owner.get(f"/api/v1/conversations/{listed[0]['id']}/messages")).json()
        stored = [m for m in messages["items"] if (m["content"].get("stored_media") or {})]
        return (listed[0], messages["items"]) if stored else None

    conversation, messages = await eventually(conversation_with_media, timeout_s=60)
    media = next(m for m in messages if m["content"].get("stored_media"))
    labelled = await owner.post(
        f"/api/v1/conversations/{conversation['id']}/labels", json={"labels": [marker.lower()]}
    )
    assert labelled.status_code == 200, labelled.text
    document = await _created(
        await owner.post(
            "/api/v1/knowledge/documents",
            json={"title": f"{marker} handbook", "text": f"{marker} opens at nine every day."},
        )
    )
    entry = await _created(
        await owner.post(
            "/api/v1/knowledge/faq",
            json={"question": f"{marker} open on sundays?", "answer": f"{marker} no, closed."},
        )
    )
    website = await _created(
        await owner.post(
            "/api/v1/knowledge/websites",
            json={"start_url": f"http://127.0.0.1:{free_port()}/{marker}/"},
        )
    )
    tenant.ids = {
        "user_id": str(agent.user_id),
        "team_id": team["id"],
        "key_id": key["id"],
        "channel_id": channel["id"],
        "conversation_id": conversation["id"],
        "contact_id": conversation["contact"]["id"],
        "message_id": messages[0]["id"],
        "storage_id": media["content"]["stored_media"]["storage_id"],
        "document_id": document["id"],
        "entry_id": entry["id"],
        "website_id": website["id"],
        "label": marker.lower(),
    }
    return tenant


class Bodies:
    """Request bodies of the right shape, from the operation's JSON schema."""

    def __init__(self, document: dict[str, Any], own_ids: list[str]) -> None:
        self._schemas = document.get("components", {}).get("schemas", {})
        self._own_ids = own_ids

    def _resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in schema:
            schema = self._schemas[schema["$ref"].rsplit("/", 1)[-1]]
        return schema

    def example(self, schema: dict[str, Any], name: str = "") -> Any:
        schema = self._resolve(schema)
        for combined in ("anyOf", "oneOf", "allOf"):
            if combined in schema:
                options = [o for o in schema[combined] if self._resolve(o).get("type") != "null"]
                return self.example(options[0], name) if options else None
        if "enum" in schema:
            return schema["enum"][0]
        if "const" in schema:
            return schema["const"]
        kind = schema.get("type")
        if kind == "object" or "properties" in schema:
            properties = schema.get("properties", {})
            return {
                key: self.example(value, key)
                for key, value in properties.items()
                if key in schema.get("required", []) or key.endswith("_id")
            }
        if kind == "array":
            count = max(1, schema.get("minItems", 1))
            return [self.example(schema.get("items", {}), name) for _ in range(count)]
        if kind == "integer":
            return max(1, schema.get("minimum", 1))
        if kind == "number":
            return max(1.0, schema.get("minimum", 1.0))
        if kind == "boolean":
            return True
        if schema.get("format") == "email":
            return f"x-{uuid.uuid4().hex[:8]}@example.com"
        length = min(max(schema.get("minLength", 1), 3), schema.get("maxLength", 3))
        candidates = ["a" * length, "123456789012345", "en", "en_US", "x" * 12]
        if schema.get("format") == "uuid" or name.endswith("_id"):
            candidates.insert(0, self._own_ids[0])
        pattern = schema.get("pattern")
        fitting = [c for c in candidates if pattern is None or re.fullmatch(pattern, c)]
        return fitting[0] if fitting else candidates[0]

    def of(self, operation: dict[str, Any]) -> dict[str, Any] | None:
        content = (operation.get("requestBody") or {}).get("content") or {}
        if "application/json" not in content:
            return None
        return dict(self.example(content["application/json"].get("schema", {})) or {})


def _id_routes(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, item in sorted(document["paths"].items())
        if path.startswith("/api/v1/") and "{" in path
        for method, operation in item.items()
        if method in METHODS
    ]


async def test_tenant_a_can_reach_nothing_of_tenant_b_through_any_route(platform) -> None:
    edge = platform.edge
    a = await populate(edge, "Alpha")
    b = await populate(edge, "Bravo")
    document = (await edge.anonymous().get("/openapi.json")).json()
    assert not document["info"].get("x-parley-unavailable-services"), document["info"]
    routes = _id_routes(document)
    # Every service with id-taking routes is in the document (a sanity check of the set-up).
    for prefix in ("/api/v1/users", "/api/v1/conversations", "/api/v1/media",
                   "/api/v1/knowledge", "/api/v1/channels"):  # fmt: skip
        assert any(path.startswith(prefix) for _, path, _ in routes), prefix

    bodies = Bodies(document, [a.ids["user_id"], a.ids["team_id"]])
    unknown: set[str] = set()
    seen: list[str] = []
    for method, path, operation in routes:
        names = re.findall(r"{([^}]+)}", path)
        missing = [n for n in names if n not in b.ids]
        if missing:
            unknown.update(missing)
            continue
        url = path
        for name in names:
            url = url.replace(f"{{{name}}}", b.ids[name])
        body = bodies.of(operation)
        response = await a.owner.request(method.upper(), url, json=body)
        seen.append(f"{method.upper()} {path}")
        # A refusal of the body's shape would stop before the ownership check and prove
        # nothing: the generated bodies must be valid.
        assert response.status_code != 422, (method, path, body, response.text)
        assert not 200 <= response.status_code < 300, (method, path, body, response.text)
        for secret in b.secrets:
            assert secret not in response.text, (method, path, secret)
    assert not unknown, (
        f"routes take {sorted(unknown)}: add to `populate` how tenant B gets one of each"
    )
    assert len(seen) >= 25, seen  # every id-taking route of every service was called

    # B's data is as it was.
    owner = b.owner
    conversation = (await owner.get(f"/api/v1/conversations/{b.ids['conversation_id']}")).json()
    assert conversation["labels"] == [b.ids["label"]]
    assert (await owner.get(f"/api/v1/users/{b.ids['user_id']}")).json()["status"] == "active"
    assert (await owner.get(f"/api/v1/teams/{b.ids['team_id']}")).status_code == 200
    key = (await owner.get(f"/api/v1/api-keys/{b.ids['key_id']}")).json()
    assert key["revoked_at"] is None
    assert (await owner.get(f"/api/v1/channels/whatsapp/{b.ids['channel_id']}")).status_code == 200
    assert (
        await owner.get(f"/api/v1/knowledge/documents/{b.ids['document_id']}")
    ).status_code == 200
    media = await owner.get(f"/api/v1/media/{b.ids['storage_id']}")
    assert media.status_code == 200 and media.content == PICTURE
