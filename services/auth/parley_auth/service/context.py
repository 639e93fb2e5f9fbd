"""What the use cases share: settings and the connections and tools built at start-up."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from parley_platform.crypto import SecretBox
from parley_platform.db import Database
from parley_platform.ratelimit import RateLimiter
from parley_platform.revocation import RevocationList
from redis.asyncio import Redis

from parley_auth.config import Settings
from parley_auth.domain.passwords import PasswordHasher
from parley_auth.email import EmailSender, LocalMailbox, SmtpSender
from parley_auth.graph_api import GraphApi
from parley_auth.service.signing import KeyRing
from parley_auth.service.throttling import SignInThrottle

T = TypeVar("T")


@dataclass
class AuthContext:
    settings: Settings
    database: Database
    redis: Redis
    keyring: KeyRing
    passwords: PasswordHasher
    channel_secrets: SecretBox
    revocations: RevocationList
    login_limiter: RateLimiter
    sign_in_throttle: SignInThrottle
    graph: GraphApi
    email: EmailSender
    # Set when email is kept for /dev/mailbox instead of being sent.
    mailbox: LocalMailbox | None

    async def hashing(self, work: Callable[[], T]) -> T:
        """Run CPU-heavy password hashing off the event loop."""
        return await asyncio.to_thread(work)


def create_context(settings: Settings, database: Database, redis: Redis) -> AuthContext:
    """The use cases' context for a started runtime."""
    master = settings.encryption_key.get_secret_value()
    limiter = RateLimiter(redis, "auth-login")
    mailbox = LocalMailbox(redis) if settings.email_delivery == "mailbox" else None
    return AuthContext(
        settings=settings,
        database=database,
        redis=redis,
        keyring=KeyRing(database, SecretBox(master, "signing-keys", service="auth"), settings),
        passwords=PasswordHasher(
            time_cost=settings.password_hash_time_cost,
            memory_kib=settings.password_hash_memory_kib,
            parallelism=settings.password_hash_parallelism,
        ),
        channel_secrets=SecretBox(master, "channel-secrets", service="auth"),
        revocations=RevocationList(redis),
        login_limiter=limiter,
        sign_in_throttle=SignInThrottle(limiter, settings),
        graph=GraphApi(
            settings.graph_api_base_url,
            settings.graph_api_version,
            timeout_s=settings.graph_timeout_s,
        ),
        email=mailbox or _smtp(settings),
        mailbox=mailbox,
    )


def _smtp(settings: Settings) -> SmtpSender:
    return SmtpSender(
        host=settings.smtp_host,
        port=settings.smtp_port,
        sender=settings.smtp_sender,
        username=settings.smtp_username,
        password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
        starttls=settings.smtp_starttls,
        timeout_s=settings.smtp_timeout_s,
    )
