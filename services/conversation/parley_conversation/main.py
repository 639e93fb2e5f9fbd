"""Conversation service process wiring."""

from __future__ import annotations

from fastapi import FastAPI
from parley_platform.http import create_service_app
from parley_platform.runtime import ServiceRuntime

from parley_conversation.config import Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    runtime = ServiceRuntime(settings, database=True, outbox_relay=True)
    return create_service_app(runtime, title="Parley conversation")
