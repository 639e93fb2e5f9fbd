"""AI service process wiring: the consumer of AI requests, the knowledge client, the model
chain with its shared breakers, the outbox relay, and the settings and usage API."""

from __future__ import annotations

import asyncio

from fastapi import FastAPI
from parley_platform.crypto import SecretBox
from parley_platform.events.topics import AI_REPLY, CONVERSATION_AI_REQUESTED
from parley_platform.http import create_service_app
from parley_platform.runtime import Resources, ServiceRuntime

from parley_ai.api.dependencies import Components
from parley_ai.api.routes import router
from parley_ai.config import Settings
from parley_ai.domain.language import detect
from parley_ai.events.handlers import AiRequests, subscribe
from parley_ai.llm.breaker import CircuitBreakers
from parley_ai.llm.chain import ModelChain
from parley_ai.llm.client import ChatClient
from parley_ai.service.responder import Responder
from parley_ai.service.retrieval import KnowledgeSearch
from parley_ai.service.settings import AiSettingsService

DESCRIPTION = (
    "The AI responder: answers customers from the business's own knowledge (extractive, or "
    "an OpenAI-compatible model with fallback and a circuit breaker), or hands them to a "
    "person. Settings, presets and usage per tenant."
)


def create_app(settings: Settings | None = None) -> FastAPI:
    """The ai service's app."""
    settings = settings or Settings()

    async def wire(resources: Resources) -> Components:
        s = settings
        # The language model loads once here rather than on the first customer's message.
        await asyncio.to_thread(detect, "warm up the language identifier")
        keys = SecretBox(s.encryption_key.get_secret_value(), "provider-keys", service="ai")
        client = ChatClient()
        resources.on_stop(client.close)
        breakers = CircuitBreakers(resources.redis, s.breaker_policy())
        responder = Responder(
            s,
            resources.database,
            KnowledgeSearch(
                resources.channel("knowledge"),
                timeout_s=s.knowledge_timeout_s,
                attempts=s.knowledge_attempts,
            ),
            ModelChain(client, breakers, s.retry_policy()),
            keys,
        )
        subscribe(resources, AiRequests(resources.database, responder), s.consumer_concurrency)
        return Components(
            database=resources.database,
            settings=AiSettingsService(
                s, resources.database, client, keys, on_change=responder.forget_settings
            ),
            responder=responder,
            breakers=breakers,
        )

    runtime = ServiceRuntime(
        settings,
        wire,
        database=True,
        redis=True,
        outbox_relay=True,
        topics=[CONVERSATION_AI_REQUESTED, AI_REPLY],
        grpc_clients={"knowledge": settings.knowledge_grpc_target},
    )
    return create_service_app(runtime, title="Parley AI", description=DESCRIPTION, routers=[router])
