"""AI service process wiring."""

from __future__ import annotations

from fastapi import FastAPI
from parley_platform.http import create_service_app
from parley_platform.runtime import Resources, ServiceRuntime

from parley_ai.config import Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    async def wire(resources: Resources) -> None:
        return None

    runtime = ServiceRuntime(
        settings,
        wire,
        database=True,
        outbox_relay=True,
        grpc_clients={"knowledge": settings.knowledge_grpc_target},
    )
    return create_service_app(runtime, title="Parley AI")
