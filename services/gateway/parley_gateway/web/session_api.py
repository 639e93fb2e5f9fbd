"""`/session/...`: the dashboard signs in, up (asks, then confirms the emailed link) and out,
accepts an invitation, refreshes its session and changes a password here, and gets cookies
instead of tokens.

Each route calls the auth service's own API (the same one `/api/v1/auth/...` reaches), moves
the tokens of its answer into HttpOnly cookies (parley_gateway.web.cookies) and returns the
rest (the user, the tenant, `expires_in`). Auth's errors are passed on unchanged. Every route
here changes state, so each checks that the browser sent it from our own origin; the ones
that act on an existing session also check the CSRF token.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from parley_platform.errors import InvalidRequest, PayloadTooLarge

from parley_gateway.api.dependencies import ComponentsDep
from parley_gateway.web.cookies import SESSION_PATH
from parley_gateway.web.sessions import SessionExpired

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 16 * 1024


async def _json_body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if len(raw) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"the request body is larger than {MAX_BODY_BYTES} bytes")
    try:
        body = json.loads(raw or b"{}")
    except ValueError:
        raise InvalidRequest("the request body is not JSON") from None
    if not isinstance(body, dict):
        raise InvalidRequest("the request body must be a JSON object")
    return body


def session_router() -> APIRouter:
    """The `/session` routes (kept out of the public API's OpenAPI: they serve the dashboard,
    whose pages are their only callers; API clients use `/api/v1/auth/...`)."""
    router = APIRouter(prefix=SESSION_PATH, include_in_schema=False)

    async def forward(request: Request, components: ComponentsDep, auth_path: str) -> Response:
        sessions = components.sessions
        sessions.cookies.check_same_origin(request)
        body = await _json_body(request)
        return sessions.answer(await sessions.call_auth(request, auth_path, body))

    @router.post("")
    async def sign_in(request: Request, components: ComponentsDep) -> Response:
        return await forward(request, components, "/api/v1/auth/login")

    @router.post("/signup")
    async def sign_up(request: Request, components: ComponentsDep) -> Response:
        return await forward(request, components, "/api/v1/signup")

    @router.post("/signup/confirm")
    async def confirm_sign_up(request: Request, components: ComponentsDep) -> Response:
        return await forward(request, components, "/api/v1/signup/confirm")

    @router.post("/invitation")
    async def accept_invitation(request: Request, components: ComponentsDep) -> Response:
        return await forward(request, components, "/api/v1/auth/accept-invite")

    @router.post("/refresh")
    async def refresh(request: Request, components: ComponentsDep) -> Response:
        sessions = components.sessions
        sessions.cookies.check_same_origin(request)
        token = request.cookies.get(sessions.cookies.refresh_name)
        if not token:
            raise SessionExpired("your session has ended; sign in again")
        upstream = await sessions.call_auth(
            request, "/api/v1/auth/refresh", {"refresh_token": token}
        )
        if upstream.status_code == 401:
            response = JSONResponse(
                {
                    "error": {
                        "code": "session_expired",
                        "message": "your session has ended; sign in again",
                    }
                },
                status_code=401,
            )
            sessions.cookies.end(response)
            return response
        return sessions.answer(upstream)

    @router.post("/password")
    async def change_password(request: Request, components: ComponentsDep) -> Response:
        sessions = components.sessions
        principal = await sessions.principal(request)  # checks CSRF for a cookie session
        body = await _json_body(request)
        return sessions.answer(
            await sessions.call_auth(request, "/api/v1/auth/password", body, principal)
        )

    @router.post("/logout")
    async def sign_out(request: Request, components: ComponentsDep) -> Response:
        sessions = components.sessions
        cookies = sessions.cookies
        cookies.check_same_origin(request)
        token = request.cookies.get(cookies.refresh_name)
        if token:
            cookies.check_csrf_token(request)
            upstream = await sessions.call_auth(
                request, "/api/v1/auth/logout", {"refresh_token": token}
            )
            if upstream.status_code >= 500:
                log.warning("sign-out: auth answered %s", upstream.status_code)
        response = Response(status_code=204)
        cookies.end(response)
        return response

    return router
