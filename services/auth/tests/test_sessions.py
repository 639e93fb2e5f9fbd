"""Sessions: refresh tokens rotate on every use, reuse revokes the family, sign-out ends the
session, and a deactivated or demoted user's access token stops working at once."""

from __future__ import annotations

import asyncio

from parley_testing.edge import PASSWORD


async def _refresh(edge, token: str):
    return await edge.anonymous().post("/api/v1/auth/refresh", json={"refresh_token": token})


async def test_a_refresh_token_is_exchanged_once_for_a_new_session(edge) -> None:
    owner = await edge.sign_up()
    first = await _refresh(edge, owner.refresh_token)
    assert first.status_code == 200
    body = first.json()
    assert body["refresh_token"] != owner.refresh_token
    assert body["access_token"] != owner.credential
    assert (await edge.client(body["access_token"]).get("/api/v1/me")).status_code == 200
    second = await _refresh(edge, body["refresh_token"])
    assert second.status_code == 200


async def test_reusing_a_rotated_refresh_token_revokes_the_whole_family(edge) -> None:
    owner = await edge.sign_up()
    stolen = owner.refresh_token
    legitimate = (await _refresh(edge, stolen)).json()  # the user refreshes first

    reuse = await _refresh(edge, stolen)  # the thief replays the old token
    assert reuse.status_code == 401
    assert reuse.json()["error"]["code"] == "refresh_token_reused"
    # Every token of the family is dead now, including the newest one the user holds...
    assert (await _refresh(edge, legitimate["refresh_token"])).status_code == 401
    # ...and so are the access tokens issued before the reuse was noticed.
    assert (await edge.client(legitimate["access_token"]).get("/api/v1/me")).status_code == 401
    # Signing in again works and starts a new family.
    login = await edge.anonymous().post(
        "/api/v1/auth/login", json={"email": owner.email, "password": PASSWORD}
    )
    assert login.status_code == 200
    assert (await _refresh(edge, login.json()["refresh_token"])).status_code == 200


async def test_reuse_revokes_only_that_family(edge) -> None:
    owner = await edge.sign_up()
    laptop = (
        await edge.anonymous().post(
            "/api/v1/auth/login", json={"email": owner.email, "password": PASSWORD}
        )
    ).json()
    await _refresh(edge, owner.refresh_token)
    assert (await _refresh(edge, owner.refresh_token)).status_code == 401  # reuse on "phone"
    assert (await _refresh(edge, laptop["refresh_token"])).status_code == 200


async def test_concurrent_refreshes_with_one_token_yield_one_session_and_count_as_reuse(
    edge,
) -> None:
    owner = await edge.sign_up()
    answers = await asyncio.gather(*(_refresh(edge, owner.refresh_token) for _ in range(4)))
    # The token row is locked while a refresh decides: the first one wins...
    [winner] = [a for a in answers if a.status_code == 200]
    # ...the next finds the token already exchanged, which is reuse, and revokes the family;
    # the last ones find it revoked (refused without voiding the user's tokens once more).
    losers = [a for a in answers if a is not winner]
    assert sorted((a.status_code, a.json()["error"]["code"]) for a in losers) == [
        (401, "invalid_refresh_token"),
        (401, "invalid_refresh_token"),
        (401, "refresh_token_reused"),
    ]
    # Reuse revoked the whole family, the winner's new session included.
    session = winner.json()
    assert (await _refresh(edge, session["refresh_token"])).status_code == 401
    assert (await edge.client(session["access_token"]).get("/api/v1/me")).status_code == 401


async def test_sign_out_ends_the_session(edge) -> None:
    owner = await edge.sign_up()
    out = await edge.anonymous().post(
        "/api/v1/auth/logout", json={"refresh_token": owner.refresh_token}
    )
    assert out.status_code == 204
    assert (await _refresh(edge, owner.refresh_token)).status_code == 401
    assert (await owner.get("/api/v1/me")).status_code == 401
    again = await edge.anonymous().post(
        "/api/v1/auth/logout", json={"refresh_token": owner.refresh_token}
    )
    assert again.status_code == 204  # signing out twice is not an error


async def test_malformed_or_forged_refresh_tokens_are_refused(edge) -> None:
    owner = await edge.sign_up()
    real = owner.refresh_token
    forged_secret = real[:-3] + ("abc" if not real.endswith("abc") else "xyz")
    for token in (forged_secret, "rt_nothing", "", "x" * 400):
        response = await _refresh(edge, token)
        assert response.status_code in (401, 422), token
    assert (await _refresh(edge, real)).status_code == 200  # the forgeries did not burn it


async def test_a_deactivated_users_tokens_stop_working_at_once(edge) -> None:
    owner = await edge.sign_up()
    agent = await edge.add_user(owner, "agent")
    assert (await agent.get("/api/v1/me")).status_code == 200

    deactivated = await owner.patch(f"/api/v1/users/{agent.user_id}", json={"active": False})
    assert deactivated.status_code == 200 and deactivated.json()["status"] == "deactivated"

    revoked = await agent.get("/api/v1/me")  # the very next request, not in 15 minutes
    assert revoked.status_code == 401
    assert revoked.json()["error"]["code"] == "credential_revoked"
    assert (await _refresh(edge, agent.refresh_token)).status_code == 401
    login = await edge.anonymous().post(
        "/api/v1/auth/login", json={"email": agent.email, "password": PASSWORD}
    )
    assert login.status_code == 401

    reactivated = await owner.patch(f"/api/v1/users/{agent.user_id}", json={"active": True})
    assert reactivated.json()["status"] == "active"
    login = await edge.anonymous().post(
        "/api/v1/auth/login", json={"email": agent.email, "password": PASSWORD}
    )
    assert login.status_code == 200
    assert (await edge.client(login.json()["access_token"]).get("/api/v1/me")).status_code == 200


async def test_a_role_change_applies_to_the_next_request(edge) -> None:
    owner = await edge.sign_up()
    admin = await edge.add_user(owner, "admin")
    assert (await admin.post("/api/v1/teams", json={"name": "Sales"})).status_code == 201

    await owner.patch(f"/api/v1/users/{admin.user_id}", json={"role": "agent"})
    assert (await admin.post("/api/v1/teams", json={"name": "Support"})).status_code == 401
    # A refresh gives a token with the new role: the demoted user is an agent now.
    refreshed = await _refresh(edge, admin.refresh_token)
    assert refreshed.status_code == 200
    demoted = edge.client(refreshed.json()["access_token"])
    assert (await demoted.get("/api/v1/me")).json()["role"] == "agent"
    assert (await demoted.post("/api/v1/teams", json={"name": "Support"})).status_code == 403
