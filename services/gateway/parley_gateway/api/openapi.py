"""One OpenAPI document for the whole public API, served at /openapi.json and /docs.

Each service documents its own `/api/v1` routes; the gateway fetches their documents,
keeps only the paths the route table sends to that service, and merges them with its own
paths (webhooks, /.well-known/jwks.json) and the bearer security scheme. Documents are
cached; a service that cannot be reached keeps its last good document, or is left out (and
named under `x-parley-unavailable-services`) until it answers.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import httpx
from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from parley_gateway.api.routes import PUBLIC_ROUTES, UPSTREAMS, Upstream
from parley_gateway.config import Settings

log = logging.getLogger(__name__)

SECURITY_SCHEME = "bearerAuth"
_FETCH_TIMEOUT_S = 2.0
_SCHEMA_REF = "#/components/schemas/"
_DESCRIPTION = (
    "The public API of Parley. Every `/api/v1` route except sign-up, sign-in, refresh, "
    "sign-out and accepting an invitation needs `Authorization: Bearer <token>`, where the "
    "token is an access token from /api/v1/auth/login or an API key (`pk_...`). Errors have "
    'the body `{"error": {"code", "message", "trace_id"}}`.'
)


def _rename_refs(node: Any, renames: dict[str, str]) -> Any:
    if isinstance(node, dict):
        return {
            key: (
                _SCHEMA_REF + renames.get(value[len(_SCHEMA_REF) :], value[len(_SCHEMA_REF) :])
                if key == "$ref" and isinstance(value, str) and value.startswith(_SCHEMA_REF)
                else _rename_refs(value, renames)
            )
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_rename_refs(item, renames) for item in node]
    return node


def _owned_paths(upstream: Upstream, paths: dict[str, Any]) -> dict[str, Any]:
    return {
        path: item
        for path, item in paths.items()
        if any(path == p or path.startswith(p + "/") for p in upstream.prefixes)
    }


def merge(own: dict[str, Any], services: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The gateway's own document with the services' API paths and schemas added.

    Schemas with the same name and content are shared; a name two services define
    differently gets the service's name as a prefix in the second one.
    """
    document = dict(own)
    paths = dict(document.get("paths", {}))
    components = dict(document.get("components", {}))
    schemas = dict(components.get("schemas", {}))
    for upstream in UPSTREAMS:
        doc = services.get(upstream.service)
        if doc is None:
            continue
        their_schemas = doc.get("components", {}).get("schemas", {})
        renames = {
            name: f"{upstream.service.capitalize()}{name}"
            for name, schema in their_schemas.items()
            if name in schemas and schemas[name] != schema
        }
        for name, schema in their_schemas.items():
            schemas[renames.get(name, name)] = _rename_refs(schema, renames)
        for path, item in _owned_paths(upstream, doc.get("paths", {})).items():
            item = _rename_refs(item, renames)
            for method, operation in item.items():
                if isinstance(operation, dict) and (method.upper(), path) not in PUBLIC_ROUTES:
                    operation["security"] = [{SECURITY_SCHEME: []}]
            paths[path] = item
    components["schemas"] = schemas
    components["securitySchemes"] = {
        SECURITY_SCHEME: {
            "type": "http",
            "scheme": "bearer",
            "description": "An access token (JWT) or an API key (pk_...).",
        }
    }
    document["paths"] = dict(sorted(paths.items()))
    document["components"] = components
    return document


class OpenApiDocument:
    """Builds and caches the merged document."""

    def __init__(self, settings: Settings, client: httpx.AsyncClient) -> None:
        self._settings = settings
        self._client = client
        self._documents: dict[str, dict[str, Any]] = {}
        self._fetched_at: dict[str, float] = {}
        self._lock = asyncio.Lock()

    async def build(self, app: FastAPI) -> dict[str, Any]:
        await self._refresh_stale()
        own = get_openapi(
            title="Parley API",
            version="1",
            description=_DESCRIPTION,
            routes=app.routes,
        )
        document = merge(own, self._documents)
        missing = [u.service for u in UPSTREAMS if u.service not in self._documents]
        if missing:
            document["info"]["x-parley-unavailable-services"] = missing
        return document

    async def _refresh_stale(self) -> None:
        async with self._lock:
            now = time.monotonic()
            stale = [
                u
                for u in UPSTREAMS
                if now - self._fetched_at.get(u.service, float("-inf"))
                > self._settings.openapi_cache_s
            ]
            await asyncio.gather(*(self._fetch(u) for u in stale))

    async def _fetch(self, upstream: Upstream) -> None:
        base = str(getattr(self._settings, upstream.url_setting)).rstrip("/")
        try:
            response = await self._client.get(f"{base}/openapi.json", timeout=_FETCH_TIMEOUT_S)
            response.raise_for_status()
            document = response.json()
        except (httpx.HTTPError, ValueError):
            log.info("OpenAPI document of %s unavailable; using the last one", upstream.service)
            return
        self._documents[upstream.service] = document
        self._fetched_at[upstream.service] = time.monotonic()
