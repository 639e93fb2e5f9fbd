"""API keys verified by auth and remembered briefly (authn/api_keys.py), with auth's answer as
a plain function: one call per key however many requests, rejections remembered too, never
trusted past the key's own expiry."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest
from parley_gateway.authn.api_keys import ApiKeyVerifier, VerifiedKey
from parley_platform.errors import Unauthenticated
from parley_platform.identity import Principal, Role

TENANT = uuid.uuid4()


class Auth:
    """Knows some keys; counts the verifications it is asked for."""

    def __init__(self) -> None:
        self.keys: dict[str, VerifiedKey] = {}
        self.calls: list[str] = []

    def issue(self, expires_at_unix: int = 0) -> tuple[str, Principal]:
        key = f"pk_{uuid.uuid4().hex}"
        principal = Principal(
            tenant_id=TENANT, role=Role.AGENT, api_key_id=uuid.uuid4(), scopes=frozenset({"x"})
        )
        self.keys[key] = VerifiedKey(principal=principal, expires_at_unix=expires_at_unix)
        return key, principal

    async def verify(self, key: str) -> VerifiedKey | None:
        self.calls.append(key)
        await asyncio.sleep(0)  # an answer takes a while: concurrent requests overlap
        return self.keys.get(key)


@pytest.fixture
def auth() -> Auth:
    return Auth()


@pytest.fixture
def verifier(auth: Auth) -> ApiKeyVerifier:
    return ApiKeyVerifier(auth.verify, ttl_s=3600, max_entries=100)


async def test_a_valid_key_is_verified_once_for_many_requests(auth, verifier) -> None:
    key, principal = auth.issue()
    results = await asyncio.gather(*(verifier.verify(key) for _ in range(20)))
    assert [r.principal for r in results] == [principal] * 20
    assert (await verifier.verify(key)).principal == principal
    assert auth.calls == [key]


async def test_a_rejected_key_is_remembered_too(auth, verifier) -> None:
    for _ in range(3):
        with pytest.raises(Unauthenticated):
            await verifier.verify("pk_guess")
    assert auth.calls == ["pk_guess"]


async def test_a_key_past_its_expiry_is_never_served_from_the_cache(auth, verifier) -> None:
    key, principal = auth.issue(expires_at_unix=int(time.time()) - 1)
    assert (await verifier.verify(key)).principal == principal  # auth said yes (its own clock)
    await verifier.verify(key)
    assert auth.calls == [key, key]


async def test_keys_are_told_apart(auth, verifier) -> None:
    first, first_principal = auth.issue()
    second, second_principal = auth.issue()
    assert (await verifier.verify(first)).principal == first_principal
    assert (await verifier.verify(second)).principal == second_principal
    assert auth.calls == [first, second]


async def test_a_forgotten_key_is_asked_about_again_and_the_answer_is_dated(auth, verifier) -> None:
    key, _ = auth.issue()
    before = time.time()
    first = await verifier.verify(key)
    assert first.verified_at >= before
    verifier.forget(key)
    second = await verifier.verify(key)
    assert auth.calls == [key, key] and second.verified_at >= first.verified_at
