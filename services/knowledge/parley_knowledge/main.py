"""Knowledge service process wiring."""

from __future__ import annotations

from fastapi import FastAPI
from parley_platform.http import create_service_app
from parley_platform.runtime import ServiceRuntime

from parley_knowledge.config import Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    runtime = ServiceRuntime(settings, database=True)
    runtime.serve_grpc(register=[], service_names=[])
    return create_service_app(runtime, title="Parley knowledge")
