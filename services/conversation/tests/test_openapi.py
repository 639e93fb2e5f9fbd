"""The API's OpenAPI document, which the gateway merges into Parley's public docs: every
route has a summary and typed responses, every model describes its fields."""

from __future__ import annotations


async def test_every_public_route_is_documented(harness) -> None:
    document = (await harness.client.get("/openapi.json")).json()
    public = {p: ops for p, ops in document["paths"].items() if p.startswith("/api/v1/")}

    assert {
        "/api/v1/conversations",
        "/api/v1/conversations/{conversation_id}",
        "/api/v1/conversations/{conversation_id}/messages",
        "/api/v1/conversations/{conversation_id}/templates",
        "/api/v1/conversations/{conversation_id}/takeover",
        "/api/v1/conversations/{conversation_id}/assign",
        "/api/v1/contacts",
        "/api/v1/events",
    } <= set(public)
    for path, operations in public.items():
        for method, operation in operations.items():
            assert operation.get("summary"), (method, path)
            success = next(r for code, r in operation["responses"].items() if code.startswith("2"))
            assert success.get("content"), (method, path)
    schemas = document["components"]["schemas"]
    for model in ("ConversationOut", "MessageOut", "WindowOut", "ContactOut"):
        described = [f for f in schemas[model]["properties"].values() if f.get("description")]
        assert described, model
    assert "text/event-stream" in public["/api/v1/events"]["get"]["responses"]["200"]["content"]
