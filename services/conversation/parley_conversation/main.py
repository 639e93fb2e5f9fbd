"""Conversation service process wiring: the database with its outbox relay, the consumer
group of the WhatsApp and AI events, the auth client for assignments, the live feed behind
`/api/v1/events`, and the inbox API."""

from __future__ import annotations

from fastapi import FastAPI
from parley_platform.db import Database
from parley_platform.events.topics import (
    CONVERSATION_AI_REQUESTED,
    CONVERSATION_CHANGED,
    WHATSAPP_OUTBOUND,
)
from parley_platform.http import create_service_app
from parley_platform.runtime import ServiceRuntime

from parley_conversation.api import contacts, conversations, stream
from parley_conversation.config import Settings
from parley_conversation.events.handlers import GROUP, ConversationEvents
from parley_conversation.events.live import LiveFeed
from parley_conversation.service.housekeeping import Housekeeping

DESCRIPTION = (
    "Conversations with WhatsApp customers: their messages, who answers them (the AI or "
    "the team), assignments, and a live stream of changes for dashboards."
)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    runtime = ServiceRuntime(
        settings,
        database=True,
        outbox_relay=True,
        topics=[CONVERSATION_AI_REQUESTED, CONVERSATION_CHANGED, WHATSAPP_OUTBOUND],
    )
    runtime.grpc_client("auth", settings.auth_grpc_target)

    def database() -> Database:
        assert runtime.database is not None, "used before the runtime started"
        return runtime.database

    runtime.add_consumer(GROUP, ConversationEvents(database, settings).handlers())

    live_feed = LiveFeed(settings)
    runtime.on_start(live_feed.start)
    runtime.on_stop(live_feed.stop)
    runtime.add_readiness_check("live-feed", live_feed.check)

    housekeeping: list[Housekeeping] = []

    async def start_housekeeping() -> None:
        housekeeping.append(Housekeeping(database(), settings))
        await housekeeping[0].start()

    async def stop_housekeeping() -> None:
        for task in housekeeping:
            await task.stop()
        housekeeping.clear()

    runtime.on_start(start_housekeeping)
    runtime.on_stop(stop_housekeeping)

    app = create_service_app(
        runtime,
        title="Parley conversation",
        description=DESCRIPTION,
        routers=[conversations.router, contacts.router, stream.router],
    )
    app.state.live_feed = live_feed
    return app
