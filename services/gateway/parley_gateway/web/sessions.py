"""The dashboard's browser sessions: calls to the auth service on the dashboard's behalf,
whose tokens end up in HttpOnly cookies (parley_gateway.web.cookies) instead of a script."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import httpx
from fastapi import Request
from fastapi.responses import JSONResponse, Response
from parley_platform.errors import Unauthenticated, Unavailable
from parley_platform.grpc.credentials import ServiceTokenIssuer
from parley_platform.http.internal import CLIENT_ADDRESS_HEADER, internal_headers
from parley_platform.identity import Principal

from parley_gateway.authn.authenticator import Authenticator
from parley_gateway.authn.client_address import Network, client_address
from parley_gateway.config import Settings
from parley_gateway.web.cookies import SessionCookies

log = logging.getLogger(__name__)

_TOKENS = ("access_token", "refresh_token", "token_type")


class SessionExpired(Unauthenticated):
    """No session to refresh (or it ended): the person signs in again."""

    code = "session_expired"


class BrowserSessions:
    """Talks to auth on behalf of the dashboard and keeps the session in cookies."""

    def __init__(
        self,
        settings: Settings,
        authenticator: Authenticator,
        client: httpx.AsyncClient,
        trusted_proxies: Sequence[Network],
    ) -> None:
        self.cookies = SessionCookies.of(settings)
        self._settings = settings
        self._authenticator = authenticator
        self._client = client
        self._trusted = trusted_proxies
        self._auth_url = settings.auth_http_url.rstrip("/")
        self._issuer = ServiceTokenIssuer(
            settings.service_token_secret.get_secret_value(), settings.service_name
        )

    async def principal(self, request: Request) -> Principal:
        """The verified principal of the request's session cookie (or header)."""
        return await self._authenticator.authenticate(self.cookies.authorization(request))

    async def call_auth(
        self,
        request: Request,
        path: str,
        body: dict[str, Any],
        principal: Principal | None = None,
    ) -> httpx.Response:
        """POST `body` to auth's `path` as the gateway does for the public API."""
        headers = {
            **internal_headers(self._issuer, "auth", principal),
            CLIENT_ADDRESS_HEADER: client_address(
                request, self._trusted, self._settings.client_address_header
            ),
        }
        try:
            return await self._client.post(
                self._auth_url + path,
                json=body,
                headers=headers,
                timeout=httpx.Timeout(
                    self._settings.upstream_timeout_s,
                    connect=self._settings.upstream_connect_timeout_s,
                ),
            )
        except httpx.HTTPError as exc:
            raise Unavailable("sign-in is unavailable; try again shortly") from exc

    def answer(self, upstream: httpx.Response) -> Response:
        """Auth's answer for the browser: a session's tokens become cookies."""
        try:
            body = upstream.json()
        except ValueError:
            return JSONResponse(
                {"error": {"code": "unavailable", "message": "sign-in failed; try again"}},
                status_code=502,
            )
        if upstream.status_code >= 400 or not isinstance(body, dict):
            return JSONResponse(body, status_code=upstream.status_code)
        access, refresh = body.get("access_token"), body.get("refresh_token")
        response = JSONResponse(
            {k: v for k, v in body.items() if k not in _TOKENS}, status_code=upstream.status_code
        )
        if isinstance(access, str) and isinstance(refresh, str):
            self.cookies.start(response, access, refresh)
        return response
