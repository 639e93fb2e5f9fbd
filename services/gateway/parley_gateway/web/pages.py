"""The dashboard's pages and assets, as built by `make web` (dashboard/ → web/dist).

`/` is the public landing page; sign-in, sign-up, the invitation page and everything under
`/app` are the single-page dashboard (one HTML shell; the script routes). HTML answers carry
the security headers: a Content-Security-Policy that allows only our own scripts and styles
(no inline script, no `eval`), no framing, no referrer. Built assets have content hashes in
their names, so they are cached for a year.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse, HTMLResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from parley_gateway.config import Settings
from parley_gateway.web.cookies import SessionCookies

PACKAGED_BUILD = Path(__file__).parent / "dist"
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "media-src 'self' blob:",
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
# Routes of the single-page app (the script decides what each shows).
APP_SHELL_PATHS = (
    "/signin",
    "/signup",
    "/verify-email",
    "/invitation",
    "/app",
    "/app/{rest:path}",
)
_NOT_BUILT = (
    "<!doctype html><title>Parley</title><h1>The dashboard is not built</h1>"
    "<p>Run <code>make web</code> (or <code>make run</code>, which builds it) and reload.</p>"
)


def page_headers(secure: bool) -> dict[str, str]:
    """Headers of every HTML page."""
    headers = {
        "Content-Security-Policy": CONTENT_SECURITY_POLICY,
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "no-referrer",
        "Cross-Origin-Opener-Policy": "same-origin",
        "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
        "Cache-Control": "no-cache",
    }
    if secure:
        headers["Strict-Transport-Security"] = "max-age=31536000"
    return headers


class HashedAssets(StaticFiles):
    """Built assets: immutable (their names change with their content), never sniffed."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        if response.status_code == 200:
            response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response


def build_directory(settings: Settings) -> Path:
    """Where the built dashboard is."""
    return settings.dashboard_dir or PACKAGED_BUILD


def pages_router(settings: Settings) -> APIRouter:
    """`/` and the dashboard's page routes."""
    router = APIRouter(include_in_schema=False)
    root = build_directory(settings)
    headers = page_headers(SessionCookies.of(settings).secure)

    def page(name: str) -> Response:
        path = root / name
        if not path.is_file():
            return HTMLResponse(_NOT_BUILT, status_code=503, headers=headers)
        return FileResponse(path, media_type="text/html; charset=utf-8", headers=headers)

    @router.get("/")
    async def landing() -> Response:
        return page("index.html")

    async def app_shell() -> Response:
        return page("app.html")

    for path in APP_SHELL_PATHS:
        router.add_api_route(path, app_shell, methods=["GET"])

    @router.get("/favicon.svg")
    async def favicon() -> Response:
        path = root / "favicon.svg"
        if not path.is_file():
            return Response(status_code=404)
        return FileResponse(path, media_type="image/svg+xml", headers=headers)

    return router


def mount_assets(app: FastAPI, settings: Settings) -> None:
    """Serve `/assets/...` from the build (404s until it exists)."""
    directory = build_directory(settings) / "assets"
    app.mount("/assets", HashedAssets(directory=directory, check_dir=False), name="assets")
