"""Browser sessions in cookies, and the one place that finds a request's credential.

The dashboard never holds a token in a script: the gateway keeps the access token in an
HttpOnly cookie sent with every same-site request, and the refresh token in an HttpOnly cookie
sent only to `/session/...`. Both are SameSite=Strict and, outside development on loopback,
Secure with the `__Host-`/`__Secure-` name prefixes (a sibling subdomain cannot plant them).

A request authenticated by its cookie that changes anything must also prove it comes from a
page of ours: the `X-CSRF-Token` header must equal the (script-readable, random) CSRF cookie,
and `Origin`/`Sec-Fetch-Site`, when the browser sends them, must say same origin. API clients
keep sending `Authorization`, which wins over a cookie and needs no CSRF token.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from urllib.parse import urlsplit

from fastapi import Request, Response
from parley_platform.errors import PermissionDenied
from parley_platform.settings import Environment

from parley_gateway.config import Settings

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_HEADER = "x-csrf-token"
SESSION_PATH = "/session"


class CsrfRejected(PermissionDenied):
    """A cookie-authenticated change that did not come from one of our pages."""

    code = "csrf_failed"


@dataclass(frozen=True)
class SessionCookies:
    """Names and attributes of the session cookies, and the checks made on them."""

    secure: bool
    max_age_s: int

    @classmethod
    def of(cls, settings: Settings) -> SessionCookies:
        secure = settings.session_cookie_secure
        if secure is None:  # plain http is only for development on loopback
            secure = settings.environment != Environment.DEVELOPMENT
        return cls(secure=secure, max_age_s=settings.session_max_age_s)

    @property
    def access_name(self) -> str:
        return "__Host-parley_session" if self.secure else "parley_session"

    @property
    def refresh_name(self) -> str:
        return "__Secure-parley_refresh" if self.secure else "parley_refresh"

    @property
    def csrf_name(self) -> str:
        return "__Host-parley_csrf" if self.secure else "parley_csrf"

    def authorization(self, request: Request) -> str | None:
        """The request's credential as an `Authorization` value: the header when present,
        else the session cookie (checked against CSRF for changes), else None."""
        header = request.headers.get("authorization")
        if header is not None:
            return header
        access = request.cookies.get(self.access_name)
        if not access:
            return None
        if request.method not in SAFE_METHODS:
            self.check_same_origin(request)
            self.check_csrf_token(request)
        return f"Bearer {access}"

    def check_same_origin(self, request: Request) -> None:
        """Refuse a change the browser says comes from another site."""
        fetch_site = request.headers.get("sec-fetch-site")
        if fetch_site is not None and fetch_site not in ("same-origin", "none"):
            raise CsrfRejected("cross-site requests cannot use the dashboard session")
        origin = request.headers.get("origin")
        if origin is not None and urlsplit(origin).netloc != request.headers.get("host"):
            raise CsrfRejected("cross-origin requests cannot use the dashboard session")

    def check_csrf_token(self, request: Request) -> None:
        """The double-submitted token: header and cookie present and equal."""
        expected = request.cookies.get(self.csrf_name, "")
        sent = request.headers.get(CSRF_HEADER, "")
        if not expected or not hmac.compare_digest(expected.encode(), sent.encode()):
            raise CsrfRejected(
                "the request lacks the dashboard's CSRF token; reload the page and try again"
            )

    def start(self, response: Response, access_token: str, refresh_token: str) -> None:
        """Set the cookies of a new (or refreshed) session, with a fresh CSRF token."""
        self._set(response, self.access_name, access_token, path="/", httponly=True)
        self._set(response, self.refresh_name, refresh_token, path=SESSION_PATH, httponly=True)
        # Readable by our script, which echoes it in X-CSRF-Token; useless to anyone else.
        self._set(response, self.csrf_name, secrets.token_urlsafe(32), path="/", httponly=False)

    def _set(self, response: Response, name: str, value: str, *, path: str, httponly: bool) -> None:
        response.set_cookie(
            name,
            value,
            max_age=self.max_age_s,
            path=path,
            secure=self.secure,
            httponly=httponly,
            samesite="strict",
        )

    def end(self, response: Response) -> None:
        """Delete every session cookie."""
        for name, path in (
            (self.access_name, "/"),
            (self.refresh_name, SESSION_PATH),
            (self.csrf_name, "/"),
        ):
            response.delete_cookie(
                name, path=path, secure=self.secure, httponly=True, samesite="strict"
            )
