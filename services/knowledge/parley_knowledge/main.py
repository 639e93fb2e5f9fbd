"""Knowledge service process wiring."""

from __future__ import annotations

from fastapi import FastAPI
from parley_platform.http import create_service_app
from parley_platform.runtime import Resources, ServiceRuntime

from parley_knowledge.config import Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    async def wire(resources: Resources) -> None:
        resources.serve_grpc(register=[], service_names=[])

    runtime = ServiceRuntime(settings, wire, database=True)
    return create_service_app(runtime, title="Parley knowledge")
