"""Gateway process wiring: the only public ingress of Parley."""

from __future__ import annotations

from fastapi import FastAPI
from parley_platform.events.topics import (
    WHATSAPP_INBOUND,
    WHATSAPP_STATUS,
    WHATSAPP_WEBHOOK_ERROR,
)
from parley_platform.http import create_service_app
from parley_platform.runtime import Resources, ServiceRuntime

from parley_gateway.api.dependencies import Components
from parley_gateway.api.edge import APP_OPTIONS, build_edge, edge_routers
from parley_gateway.config import Settings
from parley_gateway.web.pages import mount_assets, pages_router
from parley_gateway.web.session_api import session_router
from parley_gateway.web.sessions import BrowserSessions
from parley_gateway.webhooks.api import webhook_router
from parley_gateway.webhooks.channels import ChannelDirectory
from parley_gateway.webhooks.ingest import WebhookIngest


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    async def wire(resources: Resources) -> Components:
        jwks, proxy, openapi = await build_edge(resources, settings)
        channels = ChannelDirectory(
            resources.channel("auth"),
            ttl_s=settings.webhook_channel_cache_ttl_s,
            unknown_ttl_s=settings.webhook_unknown_channel_cache_ttl_s,
        )
        webhooks = WebhookIngest(
            channels, resources.producer, publish=settings.webhook_publish_events
        )
        sessions = BrowserSessions(
            settings, proxy.authenticator, proxy.client, proxy.trusted_proxies
        )
        return Components(
            jwks=jwks,
            proxy=proxy,
            openapi=openapi,
            channels=channels,
            webhooks=webhooks,
            sessions=sessions,
        )

    runtime = ServiceRuntime(
        settings,
        wire,
        redis=True,
        producer=True,
        topics=[WHATSAPP_INBOUND, WHATSAPP_STATUS, WHATSAPP_WEBHOOK_ERROR],
        grpc_clients={"auth": settings.auth_grpc_target},
    )
    routers = [
        # First: the busiest route, and routes are matched in order.
        webhook_router(settings),  # /webhooks/whatsapp (Meta's notifications)
        session_router(),  # /session/... (the dashboard's cookie session)
        pages_router(settings),  # / (landing page), /signin, /app/... (the dashboard)
        *edge_routers(),  # /api/v1/... (proxied), /.well-known/jwks.json, /openapi.json, /docs
    ]
    app = create_service_app(
        runtime,
        title="Parley API",
        version="1",
        routers=routers,
        public_edge=True,  # Meta's webhooks and every client: a trace starts here
        **APP_OPTIONS,
    )
    mount_assets(app, settings)  # /assets/... (the dashboard's built scripts and styles)
    return app
