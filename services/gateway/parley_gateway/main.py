"""Gateway process wiring: the only public ingress of Parley."""

from __future__ import annotations

from fastapi import FastAPI
from parley_platform.http import create_service_app
from parley_platform.runtime import ServiceRuntime

from parley_gateway.api.edge import ApiEdge
from parley_gateway.config import Settings
from parley_gateway.webhooks.api import webhook_router


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    runtime = ServiceRuntime(settings, redis=True, producer=True)
    runtime.grpc_client("auth", settings.auth_grpc_target)
    edge = ApiEdge(runtime, settings)
    routers = [
        *edge.routers,  # /api/v1/... (proxied), /.well-known/jwks.json, /openapi.json, /docs
        webhook_router(runtime, settings),  # /webhooks/whatsapp (Meta's notifications)
    ]
    app = create_service_app(
        runtime, title="Parley API", version="1", routers=routers, **edge.app_options
    )
    app.state.edge = edge
    return app
