"""Signing up, signing in, invitations and passwords, through the gateway as a client would."""

from __future__ import annotations

import ipaddress
import random
import uuid

from parley_testing.edge import PASSWORD, serve_edge


def _email(tag: str = "user") -> str:
    return f"{tag}-{uuid.uuid4().hex[:12]}@example.com"


async def _ask_to_sign_up(edge, email: str, company: str = "Blue Bikes"):
    return await edge.anonymous().post(
        "/api/v1/signup",
        json={"company_name": company, "name": "Bea", "email": email, "password": PASSWORD},
    )


async def test_a_business_signs_up_by_confirming_its_email_and_is_signed_in_as_owner(
    edge,
) -> None:
    email = _email("Founder").upper()
    asked = await _ask_to_sign_up(edge, email)
    assert asked.status_code == 202, asked.text
    assert asked.json()["status"] == "confirmation_sent"
    assert asked.json()["email"] == email.lower()
    # Nothing exists before the address is confirmed: no account to sign in to.
    early = await edge.anonymous().post(
        "/api/v1/auth/login", json={"email": email, "password": PASSWORD}
    )
    assert early.status_code == 401

    mail = await edge.mailbox.newest(email.lower(), "signup_confirmation")
    assert "Blue Bikes" in mail["text"] and "/verify-email#su_" in mail["link"]
    token = mail["link"].split("#", 1)[1]
    response = await edge.anonymous().post("/api/v1/signup/confirm", json={"token": token})
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["tenant"]["name"] == "Blue Bikes" and body["tenant"]["plan"] == "standard"
    assert body["user"]["role"] == "owner" and body["user"]["email"] == email.lower()
    assert body["token_type"] == "Bearer" and 0 < body["expires_in"] <= 900
    assert "password" not in response.text and PASSWORD not in response.text

    me = await edge.client(body["access_token"]).get("/api/v1/me")
    assert me.status_code == 200
    assert me.json()["tenant"]["id"] == body["tenant"]["id"]
    assert me.json()["user"]["id"] == body["user"]["id"]
    assert me.json()["role"] == "owner"
    # The password chosen when asking is the one that signs in; the link works once.
    login = await edge.anonymous().post(
        "/api/v1/auth/login", json={"email": email, "password": PASSWORD}
    )
    assert login.status_code == 200
    again = await edge.anonymous().post("/api/v1/signup/confirm", json={"token": token})
    assert again.status_code == 401 and again.json()["error"]["code"] == "invalid_confirmation"
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    for bad in (forged, "su_garbage"):
        refused = await edge.anonymous().post("/api/v1/signup/confirm", json={"token": bad})
        assert refused.status_code == 401


async def test_sign_up_answers_the_same_whether_or_not_the_address_has_an_account(edge) -> None:
    owner = await edge.sign_up()
    taken = await _ask_to_sign_up(edge, owner.email or "", company="Other")
    free = await _ask_to_sign_up(edge, _email("new"), company="Other")
    assert taken.status_code == free.status_code == 202
    assert set(taken.json()) == set(free.json())
    assert taken.json()["message"] == free.json()["message"]
    # Only the address's owner learns it already has an account (in their inbox), and gets
    # no link that could create a second one.
    note = await edge.mailbox.newest(owner.email or "")
    assert note["purpose"] == "signup_existing_account" and "/signin" in note["link"]


async def test_an_email_is_one_account_across_parley_once_proved(edge) -> None:
    owner = await edge.sign_up()
    # Inviting an address that has an account elsewhere answers like any invitation...
    other_tenant = await edge.sign_up()
    invited = await other_tenant.post(
        "/api/v1/users", json={"email": owner.email.upper(), "name": "X", "role": "agent"}
    )
    fresh = await other_tenant.post(
        "/api/v1/users", json={"email": _email("fresh"), "name": "Y", "role": "agent"}
    )
    assert invited.status_code == fresh.status_code == 201
    assert set(invited.json()) == set(fresh.json()) == {"user", "sent_to", "expires_at"}
    # ...and accepting it tells the address's owner (who holds the link) why it cannot be.
    token = await edge.mailbox.link_token(owner.email, "invitation")
    refused = await edge.anonymous().post(
        "/api/v1/auth/accept-invite", json={"invitation": token, "password": PASSWORD}
    )
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "email_taken"
    # Signing in still finds the one account.
    login = await edge.anonymous().post(
        "/api/v1/auth/login", json={"email": owner.email, "password": PASSWORD}
    )
    assert login.json()["user"]["id"] == str(owner.user_id)


async def test_an_invitation_binds_no_address_until_its_owner_accepts(edge) -> None:
    squatter = await edge.sign_up("Squatter")
    email = _email("victim")
    # A tenant inviting someone else's address neither receives the link nor holds the
    # address: its owner can still sign up their own business with it.
    invited = await squatter.post(
        "/api/v1/users", json={"email": email, "name": "V", "role": "agent"}
    )
    assert invited.status_code == 201 and "inv_" not in invited.text
    assert (await _ask_to_sign_up(edge, email, company="Victim Co")).status_code == 202
    token = await edge.mailbox.link_token(email, "signup_confirmation")
    confirmed = await edge.anonymous().post("/api/v1/signup/confirm", json={"token": token})
    assert confirmed.status_code == 201, confirmed.text
    assert confirmed.json()["tenant"]["name"] == "Victim Co"


async def test_sign_ups_and_invitations_to_one_address_are_throttled(settings_factory) -> None:
    async with serve_edge(
        settings_factory,
        auth={
            "signups_per_email_per_hour": 2,
            "invitations_per_email_per_hour": 2,
            "invitations_per_tenant_per_hour": 3,
        },
    ) as edge:
        target = _email("inbox")
        statuses = [(await _ask_to_sign_up(edge, target)).status_code for _ in range(3)]
        assert statuses == [202, 202, 429]
        owner = await edge.sign_up()
        other = await edge.sign_up()
        target = _email("invitee")
        statuses = [
            (
                await tenant.post(
                    "/api/v1/users", json={"email": target, "name": "I", "role": "agent"}
                )
            ).status_code
            for tenant in (owner, other, other)
        ]
        # One address is invited twice an hour at most, whichever tenants ask...
        assert statuses[:2] == [201, 201] and statuses[2] == 429
        # ...and one tenant sends a bounded number of invitations.
        statuses = [
            (
                await owner.post(
                    "/api/v1/users", json={"email": _email("many"), "name": "M", "role": "agent"}
                )
            ).status_code
            for _ in range(3)
        ]
        assert statuses == [201, 201, 429]


async def test_sign_up_rejects_bad_input_clearly_and_creates_nothing(edge) -> None:
    email = _email()
    cases = [
        ({"company_name": "A", "name": "B", "email": email, "password": "short"}, 400),
        ({"company_name": "A", "name": "B", "email": "not-an-email", "password": PASSWORD}, 400),
        ({"company_name": "", "name": "B", "email": email, "password": PASSWORD}, 422),
        ({"company_name": "A", "name": "B", "email": email, "password": email}, 400),
        ({"name": "B", "email": email, "password": PASSWORD}, 422),
    ]
    for body, status in cases:
        response = await edge.anonymous().post("/api/v1/signup", json=body)
        assert response.status_code == status, (body, response.text)
        assert "error" in response.json() and "Traceback" not in response.text
    login = await edge.anonymous().post(
        "/api/v1/auth/login", json={"email": email, "password": PASSWORD}
    )
    assert login.status_code == 401  # none of the attempts created the account
    assert await edge.mailbox.messages_to(email) == []  # nor sent anything


async def test_wrong_password_and_unknown_email_get_the_same_answer(edge) -> None:
    owner = await edge.sign_up()
    wrong_password = await edge.anonymous().post(
        "/api/v1/auth/login", json={"email": owner.email, "password": "not the password!"}
    )
    unknown_email = await edge.anonymous().post(
        "/api/v1/auth/login", json={"email": _email("nobody"), "password": PASSWORD}
    )
    assert wrong_password.status_code == unknown_email.status_code == 401
    assert wrong_password.json()["error"]["code"] == unknown_email.json()["error"]["code"]
    assert wrong_password.json()["error"]["message"] == unknown_email.json()["error"]["message"]

    right = await edge.anonymous().post(
        "/api/v1/auth/login", json={"email": f"  {owner.email.upper()} ", "password": PASSWORD}
    )
    assert right.status_code == 200
    assert right.json()["user"]["id"] == str(owner.user_id)


def _random_address() -> str:
    return str(ipaddress.IPv4Address(random.randint(0x0B000000, 0x0BFFFFFF)))  # 11.0.0.0/8


async def _sign_in(edge, email: str | None, password: str, address: str) -> int:
    answer = await edge.anonymous().post(
        "/api/v1/auth/login",
        json={"email": email, "password": password},
        headers={"X-Forwarded-For": address},
    )
    return answer.status_code


# The gateway trusts X-Forwarded-For from loopback in these tests, so each test client can
# come from an address of its own.
TRUSTING_LOOPBACK = {"trusted_proxies": ["127.0.0.1/32"]}


async def test_a_guesser_is_throttled_but_cannot_lock_the_owner_out(settings_factory) -> None:
    async with serve_edge(
        settings_factory,
        auth={"login_failures_per_account_and_address": 3, "login_failures_per_account": 100},
        gateway=TRUSTING_LOOPBACK,
    ) as edge:
        owner = await edge.sign_up()
        guesser = _random_address()
        statuses = [await _sign_in(edge, owner.email, f"guess {i}!!!!", guesser) for i in range(4)]
        assert statuses == [401, 401, 401, 429]
        refused = await edge.anonymous().post(
            "/api/v1/auth/login",
            json={"email": owner.email, "password": "guess again!!"},
            headers={"X-Forwarded-For": guesser},
        )
        assert refused.json()["error"]["code"] == "rate_limited"
        assert int(refused.headers["Retry-After"]) >= 1
        # The guesser stays throttled, even with the right password...
        assert await _sign_in(edge, owner.email, PASSWORD, guesser) == 429
        # ...but the owner, elsewhere, signs in as usual: the guesses were not theirs.
        assert await _sign_in(edge, owner.email, PASSWORD, _random_address()) == 200


async def test_successful_sign_ins_never_count(settings_factory) -> None:
    async with serve_edge(
        settings_factory,
        auth={"login_failures_per_account_and_address": 2},
        gateway=TRUSTING_LOOPBACK,
    ) as edge:
        owner = await edge.sign_up()
        office = _random_address()
        # A typo, then many sign-ins (a script, a team behind one office address):
        assert await _sign_in(edge, owner.email, "a typo in it!!", office) == 401
        for _ in range(5):
            assert await _sign_in(edge, owner.email, PASSWORD, office) == 200
        # The typo before a success was forgiven here: two typos are allowed again.
        statuses = [await _sign_in(edge, owner.email, "a typo in it!!", office) for _ in range(3)]
        assert statuses == [401, 401, 429]


async def test_one_address_spraying_many_accounts_is_stopped(settings_factory) -> None:
    async with serve_edge(
        settings_factory, auth={"login_failures_per_address": 5}, gateway=TRUSTING_LOOPBACK
    ) as edge:
        sprayer = _random_address()
        statuses = [await _sign_in(edge, _email("victim"), PASSWORD, sprayer) for _ in range(6)]
        assert statuses == [401] * 5 + [429]
        # Another address is not affected.
        assert await _sign_in(edge, _email("victim"), PASSWORD, _random_address()) == 401


async def test_guesses_spread_over_many_addresses_are_bounded_per_account(
    settings_factory,
) -> None:
    async with serve_edge(
        settings_factory,
        auth={"login_failures_per_account_and_address": 3, "login_failures_per_account": 6},
        gateway=TRUSTING_LOOPBACK,
    ) as edge:
        owner = await edge.sign_up()
        statuses = [
            await _sign_in(edge, owner.email, f"guess {i}!!!!", address)
            for address in (_random_address(), _random_address(), _random_address())
            for i in range(2)
        ]
        assert statuses == [401] * 6
        assert await _sign_in(edge, owner.email, "guess 7!!!!", _random_address()) == 429


async def test_ipv6_clients_are_counted_by_their_64(settings_factory) -> None:
    async with serve_edge(
        settings_factory,
        auth={"login_failures_per_account_and_address": 2},
        gateway=TRUSTING_LOOPBACK,
    ) as edge:
        owner = await edge.sign_up()
        prefix = f"2001:db8:{random.randint(0, 0xFFFF):x}:{random.randint(0, 0xFFFF):x}"
        statuses = [
            await _sign_in(edge, owner.email, "not it at all!", f"{prefix}::{i + 1:x}")
            for i in range(3)
        ]
        # Rotating through the /64 does not give a fresh budget.
        assert statuses == [401, 401, 429]


async def test_a_client_cannot_choose_its_address_without_a_trusted_proxy(settings_factory) -> None:
    async with serve_edge(settings_factory, auth={"login_failures_per_address": 2}) as edge:
        statuses = [
            (
                await edge.anonymous().post(
                    "/api/v1/auth/login",
                    json={"email": _email(), "password": PASSWORD},
                    # A new forged address each time: ignored, the connection's address counts.
                    headers={
                        "X-Forwarded-For": _random_address(),
                        "X-Parley-Client-Address": _random_address(),
                    },
                )
            ).status_code
            for _ in range(3)
        ]
        # 127.0.0.1's budget may already be spent by earlier sign-ins of this edge; what
        # matters is that rotating forged addresses never escapes the limit.
        assert statuses[-1] == 429


async def test_an_invited_user_chooses_a_password_and_the_invitation_is_used_up(edge) -> None:
    owner = await edge.sign_up()
    email = _email("Agent")
    invited = await owner.post(
        "/api/v1/users", json={"email": email, "name": "Ada Agent", "role": "agent"}
    )
    assert invited.status_code == 201
    body = invited.json()
    assert body["user"]["status"] == "invited" and body["sent_to"] == email.lower()
    # The link goes to the address only, never to the inviting admin.
    assert "inv_" not in invited.text
    body["invitation"] = await edge.mailbox.link_token(email.lower(), "invitation")

    # Not signed in before accepting.
    early = await edge.anonymous().post(
        "/api/v1/auth/login", json={"email": email, "password": PASSWORD}
    )
    assert early.status_code == 401

    weak = await edge.anonymous().post(
        "/api/v1/auth/accept-invite", json={"invitation": body["invitation"], "password": "x"}
    )
    assert weak.status_code == 400
    accepted = await edge.anonymous().post(
        "/api/v1/auth/accept-invite",
        json={"invitation": body["invitation"], "password": PASSWORD, "name": "Ada"},
    )
    assert accepted.status_code == 200
    assert accepted.json()["user"]["status"] == "active"
    assert accepted.json()["user"]["name"] == "Ada"
    again = await edge.anonymous().post(
        "/api/v1/auth/accept-invite", json={"invitation": body["invitation"], "password": PASSWORD}
    )
    assert again.status_code == 401 and again.json()["error"]["code"] == "invalid_invitation"
    login = await edge.anonymous().post(
        "/api/v1/auth/login", json={"email": email, "password": PASSWORD}
    )
    assert login.status_code == 200


async def test_a_reissued_invitation_replaces_the_old_one(edge) -> None:
    owner = await edge.sign_up()
    email = _email()
    first = (
        await owner.post("/api/v1/users", json={"email": email, "name": "N", "role": "agent"})
    ).json()
    first_token = await edge.mailbox.link_token(email, "invitation")
    second = await owner.post(f"/api/v1/users/{first['user']['id']}/invitation")
    assert second.status_code == 200
    second_token = await edge.mailbox.link_token(email, "invitation")
    assert second_token != first_token
    old = await edge.anonymous().post(
        "/api/v1/auth/accept-invite", json={"invitation": first_token, "password": PASSWORD}
    )
    assert old.status_code == 401
    new = await edge.anonymous().post(
        "/api/v1/auth/accept-invite",
        json={"invitation": second_token, "password": PASSWORD},
    )
    assert new.status_code == 200
    # Once accepted, there is nothing to reissue.
    done = await owner.post(f"/api/v1/users/{first['user']['id']}/invitation")
    assert done.status_code == 409


async def test_a_forged_invitation_is_refused(edge) -> None:
    owner = await edge.sign_up()
    email = _email()
    await owner.post("/api/v1/users", json={"email": email, "name": "N", "role": "agent"})
    real = await edge.mailbox.link_token(email, "invitation")
    forged = real[:-4] + ("AAAA" if not real.endswith("AAAA") else "BBBB")
    for invitation in (forged, "inv_garbage", "x" * 300):
        response = await edge.anonymous().post(
            "/api/v1/auth/accept-invite", json={"invitation": invitation, "password": PASSWORD}
        )
        assert response.status_code == 401, invitation


async def test_changing_the_password_signs_out_every_other_session(edge) -> None:
    owner = await edge.sign_up()
    other_device = await edge.anonymous().post(
        "/api/v1/auth/login", json={"email": owner.email, "password": PASSWORD}
    )
    wrong = await owner.post(
        "/api/v1/auth/password",
        json={"current_password": "not it at all", "new_password": "a brand new passphrase"},
    )
    assert wrong.status_code == 400 and wrong.json()["error"]["code"] == "wrong_password"

    changed = await owner.post(
        "/api/v1/auth/password",
        json={"current_password": PASSWORD, "new_password": "a brand new passphrase"},
    )
    assert changed.status_code == 200
    assert (await edge.client(changed.json()["access_token"]).get("/api/v1/me")).status_code == 200
    assert (await owner.get("/api/v1/me")).status_code == 401  # old access token: void
    stale_refresh = await edge.anonymous().post(
        "/api/v1/auth/refresh", json={"refresh_token": other_device.json()["refresh_token"]}
    )
    assert stale_refresh.status_code == 401
    old_password = await edge.anonymous().post(
        "/api/v1/auth/login", json={"email": owner.email, "password": PASSWORD}
    )
    assert old_password.status_code == 401
    new_password = await edge.anonymous().post(
        "/api/v1/auth/login", json={"email": owner.email, "password": "a brand new passphrase"}
    )
    assert new_password.status_code == 200


async def test_protected_routes_need_a_credential(edge) -> None:
    for path in ("/api/v1/me", "/api/v1/users", "/api/v1/teams", "/api/v1/channels/whatsapp"):
        response = await edge.anonymous().get(path)
        assert response.status_code == 401, path
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert response.json()["error"]["code"] == "unauthenticated"
        garbage = await edge.client("not-a-token").get(path)
        assert garbage.status_code == 401
