"""WhatsApp service process wiring: the outbound sender, inbound media, and the media API."""

from __future__ import annotations

from fastapi import FastAPI
from parley_platform.events.topics import WHATSAPP_MEDIA, WHATSAPP_OUTCOME
from parley_platform.http import create_service_app
from parley_platform.runtime import ServiceRuntime

from parley_whatsapp.api.media import router as media_router
from parley_whatsapp.config import Settings
from parley_whatsapp.events.handlers import WhatsAppHandlers


def create_app(settings: Settings | None = None) -> FastAPI:
    """The whatsapp service's app: sender and media consumers, media API, outbox relay."""
    settings = settings or Settings()
    runtime = ServiceRuntime(
        settings,
        database=True,
        redis=True,
        outbox_relay=True,
        topics=[WHATSAPP_OUTCOME, WHATSAPP_MEDIA],
    )
    runtime.grpc_client("auth", settings.auth_grpc_target)
    WhatsAppHandlers(runtime, settings).register()
    return create_service_app(runtime, title="Parley WhatsApp sender", routers=[media_router])
