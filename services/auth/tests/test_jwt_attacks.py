"""Forged and altered access tokens are refused by the gateway (and by AuthService).

Each attack builds a token an attacker could make from a real one and the public JWKS, and
sends it to the gateway, which must answer 401 and never forward it. The attacks on one claim
(expiry, audience, issuer) are signed with Parley's real current signing key, so that the
named claim is the only thing wrong with them: a control token signed the same way with the
claims unchanged is accepted.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Callable

import grpc
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from parley.auth.v1 import auth_pb2, auth_pb2_grpc
from parley_platform.grpc import create_channel
from parley_testing.edge import Edge, serve_edge


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _parts(token: str) -> tuple[dict, dict]:
    header, payload, _ = token.split(".")
    pad = lambda s: s + "=" * (-len(s) % 4)  # noqa: E731
    return (
        json.loads(base64.urlsafe_b64decode(pad(header))),
        json.loads(base64.urlsafe_b64decode(pad(payload))),
    )


def _unsigned(header: dict, claims: dict, signature: bytes = b"") -> str:
    return ".".join(
        (_b64(json.dumps(header).encode()), _b64(json.dumps(claims).encode()), _b64(signature))
    )


def _resign(claims: dict, kid: str) -> str:
    """Signed with a key the attacker made (Parley never published it)."""
    return jwt.encode(
        claims,
        Ed25519PrivateKey.generate(),
        algorithm="EdDSA",
        headers={"kid": kid, "typ": "at+jwt"},
    )


def _signed_by_parley(edge: Edge, header: dict, claims: dict) -> str:
    """Signed with auth's real current signing key: only what the claims say can be wrong."""
    kid, private_key = edge.auth.runtime.components.keyring.signing_key()
    assert kid == header["kid"]
    return jwt.encode(claims, private_key, algorithm="EdDSA", headers=header)


def _expired(claims: dict) -> dict:
    now = int(time.time())
    # Far past any verifier's leeway for clock skew.
    return {**claims, "iat": now - 3600, "exp": now - 1800}


# (header, claims, the real token, the JWKS) -> a forged token
Forge = Callable[[dict, dict, str, dict], str]

ATTACKS: dict[str, Forge] = {
    "alg none": lambda h, c, t, jwks: _unsigned({**h, "alg": "none"}, {**c, "role": "owner"}),
    "alg none, no signature part": lambda h, c, t, jwks: _unsigned({**h, "alg": "none"}, c)[:-1],
    "HS256 signed with the public key": lambda h, c, t, jwks: _hs256_with_public_key(h, c, jwks),
    "unknown kid": lambda h, c, t, jwks: _resign(c, "made-up-kid"),
    "known kid, attacker's key": lambda h, c, t, jwks: _resign(c, h["kid"]),
    "tampered payload (tenant)": lambda h, c, t, jwks: _swap_payload(
        t, {**c, "tid": str(uuid.uuid4())}
    ),
    "tampered payload (role)": lambda h, c, t, jwks: _swap_payload(t, {**c, "role": "owner"}),
    "truncated signature": lambda h, c, t, jwks: t[:-8],
    "not a JWT": lambda h, c, t, jwks: "eyJhbGciOiJFZERTQSJ9.e30",
}
# Valid signatures by Parley's key; one claim is wrong.
WRONG_CLAIMS: dict[str, Callable[[dict], dict]] = {
    "expired": _expired,
    "wrong audience": lambda c: {**c, "aud": "another-api"},
    "wrong issuer": lambda c: {**c, "iss": "evil"},
}


def _hs256_with_public_key(header: dict, claims: dict, jwks: dict) -> str:
    key = next(k for k in jwks["keys"] if k["kid"] == header["kid"])
    secret = base64.urlsafe_b64decode(key["x"] + "=" * (-len(key["x"]) % 4))
    head = {**header, "alg": "HS256"}
    signing_input = f"{_b64(json.dumps(head).encode())}.{_b64(json.dumps(claims).encode())}"
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


def _swap_payload(token: str, claims: dict) -> str:
    header, _, signature = token.split(".")
    return f"{header}.{_b64(json.dumps(claims).encode())}.{signature}"


@pytest.mark.parametrize("attack", sorted(ATTACKS))
async def test_forged_tokens_are_rejected_by_the_gateway(edge, attack) -> None:
    owner = await edge.sign_up()
    header, claims = _parts(owner.credential)
    jwks = (await edge.anonymous().get("/.well-known/jwks.json")).json()
    forged = ATTACKS[attack](header, claims, owner.credential, jwks)

    response = await edge.client(forged).get("/api/v1/me")
    assert response.status_code == 401, (attack, response.text)
    assert response.json()["error"]["code"] in ("invalid_credential", "unauthenticated")
    assert (await owner.get("/api/v1/me")).status_code == 200  # the real one still works


async def test_a_token_signed_with_parleys_key_and_unchanged_claims_is_accepted(edge) -> None:
    # The control of the test below: re-signing by itself makes nothing invalid.
    owner = await edge.sign_up()
    header, claims = _parts(owner.credential)
    resigned = _signed_by_parley(edge, header, claims)
    response = await edge.client(resigned).get("/api/v1/me")
    assert response.status_code == 200, response.text
    assert response.json()["user"]["id"] == str(owner.user_id)


@pytest.mark.parametrize("claim", sorted(WRONG_CLAIMS))
async def test_a_validly_signed_token_with_one_wrong_claim_is_rejected(edge, claim) -> None:
    owner = await edge.sign_up()
    header, claims = _parts(owner.credential)
    forged = _signed_by_parley(edge, header, WRONG_CLAIMS[claim](claims))

    response = await edge.client(forged).get("/api/v1/me")
    assert response.status_code == 401, (claim, response.text)
    assert response.json()["error"]["code"] == "invalid_credential"
    # AuthService, the authoritative check, refuses it too.
    channel = create_channel(edge.gateway_settings, edge.auth_grpc_target, "auth")
    try:
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await auth_pb2_grpc.AuthServiceStub(channel).VerifyCredential(
                auth_pb2.VerifyCredentialRequest(credential=forged)
            )
        assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
    finally:
        await channel.close()


async def test_an_expired_token_signed_by_parley_is_rejected(settings_factory) -> None:
    async with serve_edge(
        settings_factory,
        auth={"access_token_ttl_s": 1},
        gateway={"access_token_leeway_s": 0},
    ) as edge:
        owner = await edge.sign_up()
        assert owner.credential is not None
        _, claims = _parts(owner.credential)
        assert claims["exp"] - claims["iat"] == 1
        await asyncio.sleep(max(0.0, claims["exp"] + 1 - time.time()))
        response = await owner.get("/api/v1/me")
        assert response.status_code == 401


async def test_authservice_verifies_tokens_and_keys_the_same_way(edge) -> None:
    owner = await edge.sign_up()
    header, claims = _parts(owner.credential)
    channel = create_channel(edge.gateway_settings, edge.auth_grpc_target, "auth")
    stub = auth_pb2_grpc.AuthServiceStub(channel)
    try:
        good = await stub.VerifyCredential(
            auth_pb2.VerifyCredentialRequest(credential=owner.credential)
        )
        assert good.tenant_id == str(owner.tenant_id) and good.user_id == str(owner.user_id)
        assert good.role == auth_pb2.ROLE_OWNER
        for forged in (
            _resign(claims, header["kid"]),
            _unsigned({**header, "alg": "none"}, claims),
            _swap_payload(owner.credential, {**claims, "role": "owner", "sub": str(uuid.uuid4())}),
        ):
            with pytest.raises(grpc.aio.AioRpcError) as err:
                await stub.VerifyCredential(auth_pb2.VerifyCredentialRequest(credential=forged))
            assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
    finally:
        await channel.close()
