"""The gateway's cache of auth's signing keys (authn/jwks.py), with the fetch as a plain
function: refreshed when a token names an unknown key, at most once per interval, and the
last good keys kept when auth cannot answer."""

from __future__ import annotations

import asyncio
import json

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from parley_gateway.authn.jwks import JwksCache
from parley_platform.access_tokens import public_jwk


def jwks(*kids: str, extra: list[object] | None = None) -> str:
    keys: list[object] = [public_jwk(k, Ed25519PrivateKey.generate().public_key()) for k in kids]
    return json.dumps({"keys": keys + (extra or [])})


class Auth:
    """Answers GetJwks with `document` (or fails while `up` is False); counts the calls."""

    def __init__(self, document: str) -> None:
        self.document = document
        self.up = True
        self.calls = 0

    async def fetch(self) -> str:
        self.calls += 1
        if not self.up:
            raise ConnectionError("auth is not answering")
        return self.document


async def test_a_flood_of_unknown_kids_costs_one_fetch_per_interval() -> None:
    auth = Auth(jwks("k1"))
    cache = JwksCache(auth.fetch, max_age_s=300, min_refresh_interval_s=60)
    assert "k1" in await cache.keys_for("k1")
    results = await asyncio.gather(*(cache.keys_for(f"random-{i}") for i in range(200)))
    assert auth.calls == 1
    assert all(set(keys) == {"k1"} for keys in results)


async def test_a_rotated_in_key_is_learned_when_a_token_names_it() -> None:
    auth = Auth(jwks("k1"))
    cache = JwksCache(auth.fetch, max_age_s=300, min_refresh_interval_s=0)
    assert set(await cache.keys_for("k1")) == {"k1"}
    auth.document = jwks("k1", "k2")
    assert set(await cache.keys_for("k2")) == {"k1", "k2"}
    assert set(await cache.keys_for("k1")) == {"k1", "k2"}  # known and fresh: no fetch
    assert auth.calls == 2


async def test_the_last_keys_stay_when_auth_cannot_answer() -> None:
    auth = Auth(jwks("k1"))
    cache = JwksCache(auth.fetch, max_age_s=0, min_refresh_interval_s=0)
    assert "k1" in await cache.keys_for("k1")
    auth.up = False
    assert "k1" in await cache.keys_for("k-unknown")
    assert auth.calls == 2  # it did try


async def test_nothing_is_known_until_a_first_fetch_succeeds() -> None:
    auth = Auth(jwks("k1"))
    auth.up = False
    cache = JwksCache(auth.fetch, max_age_s=300, min_refresh_interval_s=0)
    assert await cache.keys_for("k1") == {}
    auth.up = True
    assert "k1" in await cache.keys_for("k1")


async def test_the_published_document_holds_only_well_formed_ed25519_signing_keys() -> None:
    odd: list[object] = [
        {"kty": "RSA", "kid": "rsa", "n": "x", "e": "AQAB"},
        {"kty": "OKP", "crv": "Ed25519", "kid": "enc", "x": "AAAA", "use": "enc"},
        {"kty": "OKP", "crv": "Ed25519", "kid": "short", "x": "AAAA"},
        {"kty": "OKP", "crv": "Ed25519", "x": "no kid"},
        "not a key",
    ]
    auth = Auth(jwks("k1", extra=odd))
    cache = JwksCache(auth.fetch, max_age_s=300, min_refresh_interval_s=60)
    document = await cache.document()
    assert [k["kid"] for k in document["keys"]] == ["k1"]
    assert document["keys"][0]["alg"] == "EdDSA"


@pytest.mark.parametrize("answer", ["not json", "[]", '"keys"'])
async def test_an_unreadable_answer_keeps_the_cache_as_it_was(answer: str) -> None:
    auth = Auth(jwks("k1"))
    cache = JwksCache(auth.fetch, max_age_s=0, min_refresh_interval_s=0)
    await cache.keys_for("k1")
    auth.document = answer
    assert set(await cache.keys_for("other")) == {"k1"}
    assert auth.calls == 2
