"""WhatsApp service process wiring: the outbound sender, inbound media, and the media API."""

from __future__ import annotations

from fastapi import FastAPI
from parley_platform.events.topics import WHATSAPP_MEDIA, WHATSAPP_OUTCOME
from parley_platform.grpc.credentials import ServiceTokenIssuer
from parley_platform.http import create_service_app
from parley_platform.ratelimit import RateLimiter
from parley_platform.runtime import Resources, ServiceRuntime

from parley_whatsapp.api.dependencies import Components
from parley_whatsapp.api.media import router as media_router
from parley_whatsapp.cloud_api import CloudApi
from parley_whatsapp.config import Settings
from parley_whatsapp.conversation_access import ConversationAccess
from parley_whatsapp.credentials import CredentialStore
from parley_whatsapp.events.handlers import subscribe
from parley_whatsapp.service.media import MediaFetcher
from parley_whatsapp.service.sender import Sender


def create_app(settings: Settings | None = None) -> FastAPI:
    """The whatsapp service's app: sender and media consumers, media API, outbox relay."""
    settings = settings or Settings()

    async def wire(resources: Resources) -> Components:
        s = settings
        cloud = CloudApi(
            s.graph_api_base_url,
            s.graph_api_version,
            timeout_s=s.graph_timeout_s,
            connect_timeout_s=s.graph_connect_timeout_s,
            download_host_suffixes=s.media_download_host_suffixes,
        )
        resources.on_stop(cloud.close)
        credentials = CredentialStore(
            resources.channel("auth"),
            ttl_s=s.credentials_cache_ttl_s,
            max_entries=s.credentials_cache_size,
        )
        limiter = RateLimiter(resources.redis, "whatsapp")
        sender = Sender(s, resources.database, credentials, cloud, limiter)
        media = MediaFetcher(s, resources.database, credentials, cloud)
        subscribe(resources, sender, media)
        conversations = ConversationAccess(
            s.conversation_http_url,
            ServiceTokenIssuer(s.service_token_secret.get_secret_value(), s.service_name),
            timeout_s=s.conversation_timeout_s,
        )
        resources.on_stop(conversations.close)
        return Components(
            database=resources.database, sender=sender, media=media, conversations=conversations
        )

    runtime = ServiceRuntime(
        settings,
        wire,
        database=True,
        redis=True,
        outbox_relay=True,
        topics=[WHATSAPP_OUTCOME, WHATSAPP_MEDIA],
        grpc_clients={"auth": settings.auth_grpc_target},
    )
    return create_service_app(runtime, title="Parley WhatsApp sender", routers=[media_router])
