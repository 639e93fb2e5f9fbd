"""WhatsApp sender process wiring."""

from __future__ import annotations

from fastapi import FastAPI
from parley_platform.http import create_service_app
from parley_platform.runtime import ServiceRuntime

from parley_whatsapp.config import Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    runtime = ServiceRuntime(settings, database=True, redis=True, outbox_relay=True)
    runtime.grpc_client("auth", settings.auth_grpc_target)
    return create_service_app(runtime, title="Parley WhatsApp sender")
