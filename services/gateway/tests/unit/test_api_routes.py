"""The public API's route table (api/routes.py): which service owns a path, which routes
need no credential, which stream and which take uploads."""

from __future__ import annotations

import pytest
from parley_gateway.api.routes import PUBLIC_ROUTES, UPSTREAMS, resolve


@pytest.mark.parametrize(
    ("method", "path", "service"),
    [
        ("POST", "/api/v1/signup", "auth"),
        ("POST", "/api/v1/auth/login", "auth"),
        ("GET", "/api/v1/me", "auth"),
        ("PATCH", "/api/v1/users/4f1c", "auth"),
        ("PUT", "/api/v1/teams/1/members/2", "auth"),
        ("DELETE", "/api/v1/api-keys/9", "auth"),
        ("POST", "/api/v1/channels/whatsapp", "auth"),
        ("GET", "/api/v1/conversations", "conversation"),
        ("POST", "/api/v1/conversations/1/takeover", "conversation"),
        ("GET", "/api/v1/contacts", "conversation"),
        ("GET", "/api/v1/events", "conversation"),
        ("POST", "/api/v1/knowledge/documents", "knowledge"),
        ("GET", "/api/v1/ai/settings", "ai"),
        ("GET", "/api/v1/media/123", "whatsapp"),
    ],
)
def test_each_path_goes_to_the_service_that_owns_it(method: str, path: str, service: str) -> None:
    route = resolve(method, path)
    assert route is not None and route.upstream.service == service


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1",
        "/api/v1/",
        "/api/v1/nothing-here",
        "/api/v1/meta",  # a prefix of a path segment is not the segment
        "/api/v1/usersx",
        "/api/v1/eventsource",
        "/api/v2/me",
        "/webhooks/whatsapp",
        "/",
        "",
    ],
)
def test_paths_no_service_owns_resolve_to_nothing(path: str) -> None:
    assert resolve("GET", path) is None


def test_only_the_credential_making_routes_are_public_and_only_for_post() -> None:
    candidates = [
        "/api/v1/signup",
        "/api/v1/signup/confirm",
        "/api/v1/auth/login",
        "/api/v1/auth/refresh",
        "/api/v1/auth/logout",
        "/api/v1/auth/accept-invite",
        "/api/v1/auth/change-password",
        "/api/v1/me",
        "/api/v1/users",
        "/api/v1/signup/extra",  # below a public route is not public
    ]
    public = {
        (method, path)
        for path in candidates
        for method in ("GET", "POST", "DELETE")
        if (route := resolve(method, path)) is not None and route.public
    }
    assert (
        public
        == PUBLIC_ROUTES
        == {
            ("POST", "/api/v1/signup"),
            ("POST", "/api/v1/signup/confirm"),
            ("POST", "/api/v1/auth/login"),
            ("POST", "/api/v1/auth/refresh"),
            ("POST", "/api/v1/auth/logout"),
            ("POST", "/api/v1/auth/accept-invite"),
        }
    )
    lower = resolve("post", "/api/v1/auth/login")  # the method's case does not matter
    assert lower is not None and lower.public


def test_the_live_stream_has_no_read_timeout_and_uploads_a_larger_limit() -> None:
    events = resolve("GET", "/api/v1/events")
    conversations = resolve("GET", "/api/v1/conversations")
    upload = resolve("POST", "/api/v1/knowledge/documents")
    faq = resolve("POST", "/api/v1/knowledge/faq/import")
    search = resolve("POST", "/api/v1/knowledge/search")
    assert events is not None and events.streaming and not events.upload
    assert conversations is not None and not conversations.streaming
    assert upload is not None and upload.upload and not upload.streaming
    assert faq is not None and faq.upload
    assert search is not None and not search.upload


def test_every_prefix_resolves_to_the_service_that_declares_it() -> None:
    for upstream in UPSTREAMS:
        for prefix in upstream.prefixes:
            route = resolve("GET", prefix)
            assert route is not None and route.upstream is upstream, prefix
