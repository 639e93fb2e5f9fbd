"""Passwords: the policy a new password must meet, and argon2id hashing.

The policy follows NIST SP 800-63B: a minimum length and a maximum (which also bounds the
hashing work an attacker can ask for), no composition rules. Hashing is CPU-bound; callers
run it in a worker thread.
"""

from __future__ import annotations

import secrets

from argon2 import PasswordHasher as Argon2Hasher
from argon2 import Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from parley_platform.errors import InvalidRequest

MIN_LENGTH = 10
MAX_LENGTH = 256


def check_password_policy(password: str, *, email: str | None = None) -> None:
    """Raise InvalidRequest unless `password` is acceptable as a new password."""
    if len(password) < MIN_LENGTH:
        raise InvalidRequest(
            f"the password must have at least {MIN_LENGTH} characters", code="weak_password"
        )
    if len(password) > MAX_LENGTH:
        raise InvalidRequest(
            f"the password must have at most {MAX_LENGTH} characters", code="weak_password"
        )
    if email is not None and password.strip().lower() == email.lower():
        raise InvalidRequest("the password must not be the email address", code="weak_password")


class PasswordHasher:
    """argon2id with configurable cost; verifies in roughly the same time whether or not
    the account exists (an unknown account is checked against a dummy hash)."""

    def __init__(self, *, time_cost: int, memory_kib: int, parallelism: int) -> None:
        self._argon2 = Argon2Hasher(
            time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism, type=Type.ID
        )
        self._dummy_hash = self._argon2.hash(secrets.token_urlsafe(24))

    def hash(self, password: str) -> str:
        return self._argon2.hash(password)

    def verify(self, stored_hash: str | None, password: str) -> bool:
        """True when `password` matches `stored_hash`. With no stored hash (unknown account,
        or a user who has not accepted the invitation) the work is still done, then False."""
        try:
            return self._argon2.verify(stored_hash or self._dummy_hash, password) and bool(
                stored_hash
            )
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, stored_hash: str) -> bool:
        """True when the hash was made with other parameters than the configured ones."""
        return self._argon2.check_needs_rehash(stored_hash)
