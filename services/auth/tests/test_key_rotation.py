"""Signing-key rotation: nobody is signed out, new tokens carry the new kid, and the JWKS
publishes exactly the keys a valid token may carry."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from parley_auth.__main__ import rotate_signing_key
from parley_auth.domain.signing_keys import SigningKeyRecord, current_key, published_keys
from parley_testing.edge import PASSWORD, serve_edge
from parley_testing.polling import eventually


def _kid(token: str) -> str:
    header = token.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))["kid"]


async def _login(edge, email: str) -> dict:
    response = await edge.anonymous().post(
        "/api/v1/auth/login", json={"email": email, "password": PASSWORD}
    )
    assert response.status_code == 200
    return response.json()


async def test_rotation_keeps_old_tokens_working_and_signs_new_ones_with_the_new_key(
    settings_factory,
) -> None:
    async with serve_edge(settings_factory, auth={"signing_key_reload_s": 0.2}) as edge:
        owner = await edge.sign_up()
        assert owner.credential is not None and owner.email is not None
        old_kid, email = _kid(owner.credential), owner.email

        # The operator's command, run against the same database (another process in real
        # life); the running service learns about the key when it re-reads the key set.
        await rotate_signing_key(edge.auth_settings)

        async def new_kid_in_use() -> str | None:
            kid = _kid((await _login(edge, email))["access_token"])
            return kid if kid != old_kid else None

        new_kid = await eventually(new_kid_in_use, timeout_s=10)
        fresh = await _login(edge, email)
        assert _kid(fresh["access_token"]) == new_kid

        # The token signed before the rotation still works, and so does the new one.
        assert (await owner.get("/api/v1/me")).status_code == 200
        assert (await edge.client(fresh["access_token"]).get("/api/v1/me")).status_code == 200
        jwks = (await edge.anonymous().get("/.well-known/jwks.json")).json()
        published = {k["kid"] for k in jwks["keys"]}
        assert {old_kid, new_kid} <= published
        assert all(k["kty"] == "OKP" and k["alg"] == "EdDSA" and "d" not in k for k in jwks["keys"])


async def test_a_rotated_in_key_is_published_before_it_signs(settings_factory) -> None:
    async with serve_edge(
        settings_factory,
        auth={"signing_key_reload_s": 0.2, "signing_key_publish_delay_s": 3600},
        gateway={"jwks_max_age_s": 0.2},
    ) as edge:
        owner = await edge.sign_up()
        assert owner.credential is not None and owner.email is not None
        signing_kid = _kid(owner.credential)
        before = {
            k["kid"] for k in (await edge.anonymous().get("/.well-known/jwks.json")).json()["keys"]
        }

        await rotate_signing_key(edge.auth_settings)

        async def pending_key_published() -> set[str] | None:
            response = await edge.anonymous().get("/.well-known/jwks.json")
            kids = {k["kid"] for k in response.json()["keys"]}
            return kids - before or None

        await eventually(pending_key_published, timeout_s=10)
        # It is published, but the current key still signs for the next hour.
        assert _kid((await _login(edge, owner.email))["access_token"]) == signing_kid
        # Later tests of this session sign with the key that is active now.
        await rotate_signing_key(
            edge.auth_settings.model_copy(update={"signing_key_publish_delay_s": 0})
        )


def _record(kid: str, active_from: datetime) -> SigningKeyRecord:
    return SigningKeyRecord(
        kid=kid,
        public_key=Ed25519PrivateKey.generate().public_key(),
        private_key_sealed=b"",
        created_at=active_from,
        active_from=active_from,
    )


def test_an_old_key_leaves_the_jwks_once_every_token_it_signed_has_expired() -> None:
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    lifetime = timedelta(minutes=15)
    old, new, pending = (
        _record("old", t0),
        _record("new", t0 + timedelta(days=30)),
        _record("pending", t0 + timedelta(days=60)),
    )
    keys = [old, new, pending]

    def kids(at: datetime) -> list[str]:
        return [k.kid for k in published_keys(keys, at, lifetime)]

    just_rotated = new.active_from + timedelta(seconds=1)
    assert current_key(keys, just_rotated) is new
    assert kids(just_rotated) == ["pending", "new", "old"]
    # The last token "old" signed was issued just before the rotation: it expires within
    # the token lifetime, and the key goes with it.
    assert kids(new.active_from + lifetime - timedelta(seconds=1)) == ["pending", "new", "old"]
    assert kids(new.active_from + lifetime + timedelta(seconds=1)) == ["pending", "new"]
    assert current_key(keys, pending.active_from) is pending
    assert current_key(keys, t0 - timedelta(seconds=1)) is None
