"""The dashboard's cookie session at the gateway: sign-in sets HttpOnly, SameSite=Strict,
Secure cookies and never returns a token; the cookie authenticates API calls exactly as a
bearer token does; changes need the CSRF token and our own origin; refresh rotates; sign-out
ends the session; pages carry a strict Content-Security-Policy."""

from __future__ import annotations

from contextlib import aclosing
from pathlib import Path

import httpx
from parley_testing.edge import PASSWORD, Edge, serve_edge


def _set_cookies(response: httpx.Response) -> dict[str, str]:
    """name -> the raw Set-Cookie header of each cookie set."""
    found = {}
    for header in response.headers.get_list("set-cookie"):
        name = header.split("=", 1)[0]
        found[name] = header
    return found


# httpx, rightly, never sends a Secure cookie over http://: the tests that use the cookies
# run with plain ones (same behaviour, names without the __Host-/__Secure- prefixes).
PLAIN_COOKIES = {"session_cookie_secure": False}


async def _browser(edge: Edge) -> tuple[httpx.AsyncClient, str]:
    """A cookie-keeping client signed in as a new owner; returns it and the CSRF token."""
    owner = await edge.sign_up()
    client = httpx.AsyncClient(base_url=edge.gateway.base_url, timeout=15)
    response = await client.post("/session", json={"email": owner.email, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return client, client.cookies["parley_csrf"]


async def test_sign_in_sets_secure_http_only_cookies_and_returns_no_token(settings_factory):
    async with serve_edge(settings_factory) as edge:
        owner = await edge.sign_up()
        response = await edge.anonymous().post(
            "/session", json={"email": owner.email, "password": PASSWORD}
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert "access_token" not in body and "refresh_token" not in body
        assert body["user"]["email"] == owner.email
        cookies = _set_cookies(response)
        session = cookies["__Host-parley_session"]
        refresh = cookies["__Secure-parley_refresh"]
        csrf = cookies["__Host-parley_csrf"]
        for header in (session, refresh, csrf):
            assert "Secure" in header and "SameSite=strict" in header
        assert "HttpOnly" in session and "HttpOnly" in refresh and "HttpOnly" not in csrf
        assert "Path=/session" in refresh and "Path=/;" in session + ";"

        wrong = await edge.anonymous().post(
            "/session", json={"email": owner.email, "password": "not the password"}
        )
        assert wrong.status_code == 401
        assert not _set_cookies(wrong)


async def test_the_cookie_authenticates_reads_and_changes_need_the_csrf_token(settings_factory):
    async with serve_edge(settings_factory, gateway=PLAIN_COOKIES) as edge:
        client, csrf = await _browser(edge)
        async with aclosing(client):
            me = await client.get("/api/v1/me")
            assert me.status_code == 200, me.text

            without = await client.post("/api/v1/teams", json={"name": "Support"})
            assert without.status_code == 403
            assert without.json()["error"]["code"] == "csrf_failed"
            forged = await client.post(
                "/api/v1/teams", json={"name": "Support"}, headers={"X-CSRF-Token": "guess"}
            )
            assert forged.status_code == 403
            cross_site = await client.post(
                "/api/v1/teams",
                json={"name": "Support"},
                headers={"X-CSRF-Token": csrf, "Origin": "https://evil.example"},
            )
            assert cross_site.status_code == 403
            fetch_site = await client.post(
                "/api/v1/teams",
                json={"name": "Support"},
                headers={"X-CSRF-Token": csrf, "Sec-Fetch-Site": "cross-site"},
            )
            assert fetch_site.status_code == 403
            teams = (await client.get("/api/v1/teams")).json()
            assert teams == []  # nothing was created by the refused requests

            created = await client.post(
                "/api/v1/teams",
                json={"name": "Support"},
                headers={"X-CSRF-Token": csrf, "Origin": edge.gateway.base_url},
            )
            assert created.status_code == 201, created.text


async def test_an_authorization_header_wins_over_the_cookie(settings_factory):
    async with serve_edge(settings_factory, gateway=PLAIN_COOKIES) as edge:
        client, _ = await _browser(edge)
        other = await edge.sign_up("Other Co")
        async with aclosing(client):
            me = await client.get(
                "/api/v1/me", headers={"Authorization": f"Bearer {other.credential}"}
            )
            assert me.json()["tenant"]["id"] == str(other.tenant_id)
            # An API client needs no CSRF token.
            created = await client.post(
                "/api/v1/teams",
                json={"name": "Ops"},
                headers={"Authorization": f"Bearer {other.credential}"},
            )
            assert created.status_code == 201, created.text


async def test_refresh_rotates_and_sign_out_ends_the_session(settings_factory):
    async with serve_edge(settings_factory, gateway=PLAIN_COOKIES) as edge:
        client, csrf = await _browser(edge)
        async with aclosing(client):
            old_refresh = client.cookies["parley_refresh"]
            refreshed = await client.post("/session/refresh")
            assert refreshed.status_code == 200, refreshed.text
            assert client.cookies["parley_refresh"] != old_refresh
            assert (await client.get("/api/v1/me")).status_code == 200

            csrf = client.cookies["parley_csrf"]
            current_refresh = client.cookies["parley_refresh"]
            out = await client.post("/session/logout", headers={"X-CSRF-Token": csrf})
            assert out.status_code == 204
            assert "parley_session" not in client.cookies
            assert (await client.get("/api/v1/me")).status_code == 401
            # The refresh token itself was ended at auth, not only forgotten here.
            client.cookies.set("parley_refresh", current_refresh, path="/session")
            replay = await client.post("/session/refresh")
            assert replay.status_code == 401
            assert replay.json()["error"]["code"] == "session_expired"


async def test_change_password_keeps_this_session(settings_factory):
    async with serve_edge(settings_factory, gateway=PLAIN_COOKIES) as edge:
        client, csrf = await _browser(edge)
        async with aclosing(client):
            changed = await client.post(
                "/session/password",
                json={"current_password": PASSWORD, "new_password": "a brand new passphrase"},
                headers={"X-CSRF-Token": csrf},
            )
            assert changed.status_code == 200, changed.text
            assert "access_token" not in changed.json()
            assert (await client.get("/api/v1/me")).status_code == 200


async def test_pages_carry_a_strict_content_security_policy(settings_factory, tmp_path: Path):
    (tmp_path / "index.html").write_text("<!doctype html><title>Parley</title>")
    (tmp_path / "app.html").write_text("<!doctype html><div id=app></div>")
    (tmp_path / "assets").mkdir()
    (tmp_path / "assets" / "app-abc123.js").write_text("console.log(1)")
    async with serve_edge(settings_factory, gateway={"dashboard_dir": str(tmp_path)}) as edge:
        client = edge.gateway.client
        for path in ("/", "/signin", "/app", "/app/conversations/x", "/invitation"):
            page = await client.get(path)
            assert page.status_code == 200, path
            policy = page.headers["content-security-policy"]
            assert "script-src 'self'" in policy and "unsafe-inline" not in policy
            assert "frame-ancestors 'none'" in policy
            assert page.headers["x-content-type-options"] == "nosniff"
        asset = await client.get("/assets/app-abc123.js")
        assert asset.status_code == 200
        assert "immutable" in asset.headers["cache-control"]
        assert (await client.get("/assets/../app.html")).status_code == 404


async def test_an_unbuilt_dashboard_says_how_to_build_it(settings_factory, tmp_path: Path):
    async with serve_edge(settings_factory, gateway={"dashboard_dir": str(tmp_path)}) as edge:
        page = await edge.gateway.client.get("/app")
        assert page.status_code == 503
        assert "make web" in page.text
