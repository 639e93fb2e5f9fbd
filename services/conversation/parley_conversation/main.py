"""Conversation service process wiring: the database with its outbox relay, the consumer
group of the WhatsApp and AI events, the auth client for assignments, the live feed behind
`/api/v1/events` (conversation and knowledge document changes), housekeeping, and the inbox API."""

from __future__ import annotations

from fastapi import FastAPI
from parley_platform.events.topics import (
    CONVERSATION_AI_REQUESTED,
    CONVERSATION_CHANGED,
    KNOWLEDGE_DOCUMENT_CHANGED,
    WHATSAPP_OUTBOUND,
)
from parley_platform.http import create_service_app
from parley_platform.runtime import Resources, ServiceRuntime

from parley_conversation.api import analytics, contacts, conversations, internal, stream
from parley_conversation.api.dependencies import Services
from parley_conversation.config import Settings
from parley_conversation.events.handlers import GROUP, ConversationEvents
from parley_conversation.events.live import LiveFeed
from parley_conversation.service import housekeeping
from parley_conversation.service.directory import Directory

DESCRIPTION = (
    "Conversations with WhatsApp customers: their messages, who answers them (the AI or "
    "the team), assignments, and a live stream of changes for dashboards."
)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    async def wire(resources: Resources) -> Services:
        database = resources.database
        resources.consume(GROUP, ConversationEvents(database, settings).subscriptions())
        resources.every(
            "housekeeping",
            settings.housekeeping_interval_s,
            lambda: housekeeping.prune(database, settings),
        )
        live_feed = LiveFeed(settings)
        await live_feed.start()
        resources.on_stop(live_feed.stop)
        follower = resources.supervise("live-feed", live_feed.follow)

        async def live_feed_running() -> None:
            if not follower.running:
                raise RuntimeError("live feed stopped")

        resources.readiness_check("live-feed", live_feed_running)
        return Services(
            database=database, directory=Directory(resources.channel("auth")), live_feed=live_feed
        )

    runtime = ServiceRuntime(
        settings,
        wire,
        database=True,
        outbox_relay=True,
        # The knowledge topic too: the live feed reads it, whichever service starts first.
        topics=[
            CONVERSATION_AI_REQUESTED,
            CONVERSATION_CHANGED,
            KNOWLEDGE_DOCUMENT_CHANGED,
            WHATSAPP_OUTBOUND,
        ],
        grpc_clients={"auth": settings.auth_grpc_target},
    )
    return create_service_app(
        runtime,
        title="Parley conversation",
        description=DESCRIPTION,
        routers=[
            conversations.router,
            contacts.router,
            stream.router,
            analytics.router,
            internal.router,
        ],
    )
