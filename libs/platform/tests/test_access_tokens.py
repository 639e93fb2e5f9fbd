"""Access tokens: what auth issues verifies, and nothing else does."""

from __future__ import annotations

import time
import uuid

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from parley_platform.access_tokens import (
    InvalidAccessToken,
    issue_access_token,
    keys_from_jwks,
    public_jwk,
    verify_access_token,
)
from parley_platform.identity import Principal, Role

ISSUER, AUDIENCE = "parley-auth", "parley-api"
KEY = Ed25519PrivateKey.generate()
USER = Principal(
    tenant_id=uuid.uuid4(),
    role=Role.ADMIN,
    user_id=uuid.uuid4(),
    team_ids=frozenset({uuid.uuid4()}),
)


def _issue(**overrides) -> str:
    values = {
        "principal": USER,
        "private_key": KEY,
        "key_id": "k1",
        "issuer": ISSUER,
        "audience": AUDIENCE,
        "issued_at": int(time.time()),
        "ttl_s": 900,
        "token_id": "t1",
        **overrides,
    }
    return issue_access_token(**values)


def _keys() -> dict:
    return keys_from_jwks({"keys": [public_jwk("k1", KEY.public_key())]})


def test_a_token_round_trips_through_the_published_jwks() -> None:
    token = _issue()
    verified = verify_access_token(token, _keys(), issuer=ISSUER, audience=AUDIENCE)
    assert verified.principal == USER
    assert verified.key_id == "k1" and verified.expires_at - verified.issued_at == 900


@pytest.mark.parametrize(
    "token",
    [
        pytest.param(lambda: _issue(key_id="k2"), id="unknown kid"),
        pytest.param(lambda: _issue(private_key=Ed25519PrivateKey.generate()), id="other key"),
        pytest.param(lambda: _issue(issuer="evil"), id="issuer"),
        pytest.param(lambda: _issue(audience="other"), id="audience"),
        pytest.param(lambda: _issue(issued_at=int(time.time()) - 1000), id="expired"),
        pytest.param(
            lambda: jwt.encode({"sub": "x"}, key="", algorithm="none", headers={"kid": "k1"}),
            id="alg none",
        ),
        pytest.param(
            lambda: jwt.encode(
                {"iss": ISSUER, "aud": AUDIENCE, "sub": str(USER.user_id)},
                "an-attacker-chosen-hmac-key-of-32-bytes",
                algorithm="HS256",
                headers={"kid": "k1", "typ": "at+jwt"},
            ),
            id="HS256",
        ),
        pytest.param(lambda: "not.a.token", id="garbage"),
    ],
)
def test_anything_else_is_refused(token) -> None:
    with pytest.raises(InvalidAccessToken):
        verify_access_token(token(), _keys(), issuer=ISSUER, audience=AUDIENCE)


def test_only_users_get_access_tokens_and_never_for_long() -> None:
    key_principal = Principal(tenant_id=uuid.uuid4(), role=Role.AGENT, api_key_id=uuid.uuid4())
    with pytest.raises(ValueError):
        _issue(principal=key_principal)
    with pytest.raises(ValueError):
        _issue(ttl_s=3600)


def test_a_jwks_with_foreign_or_broken_keys_yields_only_ed25519_keys() -> None:
    document = {
        "keys": [
            public_jwk("good", KEY.public_key()),
            {"kty": "RSA", "kid": "rsa", "n": "x", "e": "AQAB"},
            {"kty": "OKP", "crv": "Ed25519", "kid": "short", "x": "AAAA"},
            {"kty": "OKP", "crv": "Ed25519", "kid": "enc", "x": "AAAA", "use": "enc"},
            "not a key",
        ]
    }
    assert list(keys_from_jwks(document)) == ["good"]
