"""The public API's route table: which service owns which path, in one place.

A service owns its routes, their models and their OpenAPI; the gateway only knows which
prefix goes where, which few routes need no credential, which stream (Server-Sent Events)
and which accept large bodies.
"""

from __future__ import annotations

from dataclasses import dataclass

API_PREFIX = "/api/v1"


@dataclass(frozen=True)
class Upstream:
    """A service behind the gateway: its name (the audience of the internal token), the
    setting with its base URL, and the path prefixes it owns."""

    service: str
    url_setting: str
    prefixes: tuple[str, ...]


UPSTREAMS = (
    Upstream(
        "auth",
        "auth_http_url",
        (
            "/api/v1/signup",
            "/api/v1/auth",
            "/api/v1/me",
            "/api/v1/users",
            "/api/v1/teams",
            "/api/v1/api-keys",
            "/api/v1/channels",
        ),
    ),
    Upstream(
        "conversation",
        "conversation_http_url",
        ("/api/v1/conversations", "/api/v1/contacts", "/api/v1/events", "/api/v1/analytics"),
    ),
    Upstream("knowledge", "knowledge_http_url", ("/api/v1/knowledge",)),
    Upstream("ai", "ai_http_url", ("/api/v1/ai",)),
    Upstream("whatsapp", "whatsapp_http_url", ("/api/v1/media",)),
)

# Forwarded without a principal: the body itself is the credential (or creates one).
PUBLIC_ROUTES = frozenset(
    {
        ("POST", "/api/v1/signup"),
        ("POST", "/api/v1/signup/confirm"),
        ("POST", "/api/v1/auth/login"),
        ("POST", "/api/v1/auth/refresh"),
        ("POST", "/api/v1/auth/logout"),
        ("POST", "/api/v1/auth/accept-invite"),
    }
)
# Long-lived responses: streamed as they come, no read timeout.
STREAMING_PREFIXES = ("/api/v1/events",)
# Large request bodies (uploads) get the upload limit instead of the API limit.
UPLOAD_PREFIXES = ("/api/v1/knowledge/documents", "/api/v1/knowledge/faq/import")


@dataclass(frozen=True)
class Route:
    upstream: Upstream
    public: bool
    streaming: bool
    upload: bool


def _under(path: str, prefix: str) -> bool:
    return path == prefix or path.startswith(prefix + "/")


def resolve(method: str, path: str) -> Route | None:
    """The route of `method path`, or None when no service owns the path."""
    for upstream in UPSTREAMS:
        if any(_under(path, prefix) for prefix in upstream.prefixes):
            return Route(
                upstream=upstream,
                public=(method.upper(), path) in PUBLIC_ROUTES,
                streaming=any(_under(path, p) for p in STREAMING_PREFIXES),
                upload=any(_under(path, p) for p in UPLOAD_PREFIXES),
            )
    return None
