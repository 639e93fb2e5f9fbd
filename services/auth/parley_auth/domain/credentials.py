"""Opaque credentials Parley hands out: API keys, refresh tokens, invitations and sign-up
confirmations.

Each reads `<prefix>_<id>_<secret>`. The id (32 hex digits) is not secret: it finds the
stored record (and, through a narrow look-up, its tenant). The secret is 256 random bits;
only its SHA-256 is stored, and the digest is compared in constant time. A plain hash is
enough because the secret is random, not chosen by a person (passwords use argon2id).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import uuid
from dataclasses import dataclass
from enum import StrEnum
from uuid import UUID

_SECRET_BYTES = 32
_SECRET_LENGTH = 43  # token_urlsafe(32)
_SECRET_PATTERN = re.compile(rf"[A-Za-z0-9_-]{{{_SECRET_LENGTH}}}")
_ID_PATTERN = re.compile(r"[0-9a-f]{32}")


class CredentialKind(StrEnum):
    """The prefix says what a credential is (and lets log filters recognise API keys)."""

    API_KEY = "pk"
    REFRESH_TOKEN = "rt"  # noqa: S105 - a prefix
    INVITATION = "inv"
    SIGNUP = "su"  # confirms a sign-up's email address


@dataclass(frozen=True)
class OpaqueCredential:
    """One credential: its kind, its public id and its secret part."""

    kind: CredentialKind
    id: UUID
    secret: str

    def __str__(self) -> str:
        return f"{self.kind.value}_{self.id.hex}_{self.secret}"

    def __repr__(self) -> str:  # never show the secret, e.g. in a traceback or a debugger
        return f"OpaqueCredential({self.kind.value}, {self.id})"

    def digest(self) -> bytes:
        """What is stored: SHA-256 of the secret part."""
        return secret_digest(self.secret)

    def matches(self, stored_digest: bytes) -> bool:
        """Constant-time comparison with a stored digest."""
        return hmac.compare_digest(self.digest(), stored_digest)


def secret_digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


def new_credential(kind: CredentialKind, credential_id: UUID | None = None) -> OpaqueCredential:
    """A fresh credential of `kind` (its id may be given, e.g. an invitation's user id)."""
    return OpaqueCredential(
        kind=kind,
        id=credential_id or uuid.uuid4(),
        secret=secrets.token_urlsafe(_SECRET_BYTES),
    )


def parse_credential(text: str, kind: CredentialKind) -> OpaqueCredential | None:
    """The credential `text` spells, or None when it is not one of `kind`."""
    prefix = f"{kind.value}_"
    if not text.startswith(prefix):
        return None
    rest = text[len(prefix) :]
    id_part, separator, secret = rest[:32], rest[32:33], rest[33:]
    if (
        separator != "_"
        or not _ID_PATTERN.fullmatch(id_part)
        or not _SECRET_PATTERN.fullmatch(secret)
    ):
        return None
    return OpaqueCredential(kind=kind, id=UUID(hex=id_part), secret=secret)
