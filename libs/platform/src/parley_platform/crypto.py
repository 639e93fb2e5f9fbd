"""Encryption at rest for secrets a service must be able to read back (auth: signing keys'
private halves, WhatsApp access tokens, app secrets, verify tokens; ai: LLM provider keys).

AES-256-GCM with a key derived by HKDF-SHA256 from the service's configured master secret,
one key per service and purpose. Each ciphertext is bound to where it belongs (associated
data such as `whatsapp_channels:<tenant>:<channel>:access_token`), so a sealed value copied
into another row or tenant does not open. Layout: version byte, 12-byte random nonce,
ciphertext + tag.
"""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_VERSION = b"\x01"
_NONCE_BYTES = 12


class SealedSecretError(Exception):
    """A sealed value does not open with this key and context (wrong key, moved, altered)."""


class SecretBox:
    """Seals and opens secrets for one purpose of one service."""

    def __init__(self, master_secret: str, purpose: str, *, service: str) -> None:
        key = HKDF(
            algorithm=hashes.SHA256(),
            length=32,
            salt=None,
            info=f"parley-{service}/{purpose}/v1".encode(),
        ).derive(master_secret.encode())
        self._aead = AESGCM(key)

    def seal(self, plaintext: bytes, context: str) -> bytes:
        nonce = os.urandom(_NONCE_BYTES)
        return _VERSION + nonce + self._aead.encrypt(nonce, plaintext, context.encode())

    def open(self, sealed: bytes, context: str) -> bytes:
        if len(sealed) < 1 + _NONCE_BYTES or sealed[:1] != _VERSION:
            raise SealedSecretError("unknown sealed-secret format")
        nonce, ciphertext = sealed[1 : 1 + _NONCE_BYTES], sealed[1 + _NONCE_BYTES :]
        try:
            return self._aead.decrypt(nonce, ciphertext, context.encode())
        except InvalidTag as exc:
            raise SealedSecretError("sealed secret does not open in this context") from exc

    def seal_text(self, plaintext: str, context: str) -> bytes:
        return self.seal(plaintext.encode(), context)

    def open_text(self, sealed: bytes, context: str) -> str:
        return self.open(sealed, context).decode()
