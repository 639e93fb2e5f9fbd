"""Which signing key signs now, and which public keys are published.

Keys are ordered by `active_from`. The key that signs is the newest one whose `active_from`
has come. A rotated-in key is published before it becomes active (so verifiers already have
it when the first token it signs arrives), and a key it replaced stays published until every
token that key signed has expired: its retirement time plus the access-token lifetime.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey


@dataclass(frozen=True)
class SigningKeyRecord:
    """A signing key as stored (the private half stays sealed until it is needed)."""

    kid: str
    public_key: Ed25519PublicKey
    private_key_sealed: bytes
    created_at: datetime
    active_from: datetime


def current_key(keys: Sequence[SigningKeyRecord], now: datetime) -> SigningKeyRecord | None:
    """The key that signs at `now` (None before the first key is active)."""
    active = [k for k in keys if k.active_from <= now]
    return max(active, key=lambda k: k.active_from) if active else None


def published_keys(
    keys: Sequence[SigningKeyRecord], now: datetime, token_lifetime: timedelta
) -> list[SigningKeyRecord]:
    """The keys whose public halves belong in the JWKS at `now`, newest first."""
    ordered = sorted(keys, key=lambda k: k.active_from)
    published = []
    for index, key in enumerate(ordered):
        successor = ordered[index + 1] if index + 1 < len(ordered) else None
        retired_at = successor.active_from if successor and successor.active_from <= now else None
        if retired_at is None or retired_at + token_lifetime > now:
            published.append(key)
    return list(reversed(published))


def rotation_due(
    keys: Sequence[SigningKeyRecord], now: datetime, max_age: timedelta | None
) -> bool:
    """True when no key is active or pending, or (with a maximum age) the newest is too old."""
    if not keys:
        return True
    newest = max(keys, key=lambda k: k.active_from)
    if current_key(keys, now) is None and newest.active_from > now:
        return False  # the first key is about to become active
    if newest.active_from > now:
        return False  # a rotation is already pending
    return max_age is not None and now - newest.active_from >= max_age
