"""The sandbox application: the control API, the Cloud API paths and the chat page."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import resources

from fastapi import FastAPI
from fastapi.responses import HTMLResponse

from parley_sandbox import cloud_api, control_api
from parley_sandbox.config import SandboxSettings
from parley_sandbox.state import SandboxState
from parley_sandbox.webhooks import WebhookDelivery


def create_app(settings: SandboxSettings | None = None) -> FastAPI:
    """The sandbox as an ASGI app (state in memory, per app)."""
    settings = settings or SandboxSettings()
    state = SandboxState(seed=settings.seed, outbox_capacity=settings.outbox_capacity)
    webhooks = WebhookDelivery(settings, state)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        await webhooks.close()

    app = FastAPI(
        title="Parley WhatsApp sandbox",
        description="A stand-in for Meta's WhatsApp Cloud API (see docs/whatsapp.md).",
        lifespan=lifespan,
    )
    app.state.sandbox = state
    page = resources.files("parley_sandbox").joinpath("static/chat.html").read_text()

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def chat_page() -> HTMLResponse:
        return HTMLResponse(page)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    # The control API first: its two-segment paths would otherwise match /{version}/{media_id}.
    app.include_router(control_api.build_router(settings, state, webhooks))
    app.include_router(cloud_api.build_router(settings, state, webhooks))
    return app
