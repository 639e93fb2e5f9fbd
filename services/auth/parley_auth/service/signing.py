"""The token-signing key ring: which key signs, what the JWKS publishes, and rotation.

Keys live in the database (private halves sealed with AES-GCM). Every replica keeps the set
in memory and re-reads it periodically (`refresh`, a job the service declares to its runtime),
so a key rotated in by another replica or by the command line is published before it signs
(see domain.signing_keys). Rotation is serialised
by an advisory lock, so replicas that find a rotation due at the same moment add one key.
"""

from __future__ import annotations

import logging
import secrets
from datetime import UTC, datetime, timedelta

from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)
from parley_platform.access_tokens import DEFAULT_LEEWAY_S, public_jwk
from parley_platform.crypto import SealedSecretError, SecretBox
from parley_platform.db import Database
from parley_platform.errors import Unavailable

from parley_auth.config import Settings
from parley_auth.domain.signing_keys import (
    SigningKeyRecord,
    current_key,
    published_keys,
    rotation_due,
)
from parley_auth.repository.signing_keys import SigningKeyRepository

log = logging.getLogger(__name__)


def _now() -> datetime:
    return datetime.now(UTC)


class KeyRing:
    """This replica's view of the signing keys."""

    def __init__(self, database: Database, box: SecretBox, settings: Settings) -> None:
        self._database = database
        self._box = box
        self._settings = settings
        self._keys: list[SigningKeyRecord] = []
        self._private: dict[str, Ed25519PrivateKey] = {}
        self._token_lifetime = timedelta(seconds=settings.access_token_ttl_s + DEFAULT_LEEWAY_S)

    async def start(self) -> None:
        """Load the keys and create or rotate one if due (`refresh` keeps them fresh)."""
        await self.refresh()
        try:
            self.signing_key()
        except SealedSecretError as exc:
            raise RuntimeError(
                f"{self._settings.env_name('encryption_key')} does not open the stored signing "
                "keys: it must be the key this database was written with"
            ) from exc

    async def refresh(self) -> None:
        """Re-read the keys (another replica or the command line may have added one) and
        rotate if due. When it fails, the last set stays in use."""
        await self.reload()
        await self.rotate_if_due()

    async def reload(self) -> None:
        async with self._database.system_session() as session:
            self._keys = await SigningKeyRepository(session).list()

    async def rotate_if_due(self) -> None:
        max_age_days = self._settings.signing_key_max_age_days
        max_age = timedelta(days=max_age_days) if max_age_days else None
        if rotation_due(self._keys, _now(), max_age):
            await self.rotate(max_age=max_age)

    async def rotate(self, *, max_age: timedelta | None = None, force: bool = False) -> str:
        """Add a new signing key and return its kid. It signs after the publish delay (at once
        when no key is active yet). Without `force`, a replica that finds another just
        rotated (under the lock) adds nothing."""
        async with self._database.system_session() as session:
            repository = SigningKeyRepository(session)
            await repository.lock_rotation()
            keys = await repository.list()
            now = _now()
            if not force and not rotation_due(keys, now, max_age):
                self._keys = keys
                newest = max(keys, key=lambda k: k.active_from)
                return newest.kid
            first = current_key(keys, now) is None
            delay = 0.0 if first else self._settings.signing_key_publish_delay_s
            kid = f"{now:%Y%m%d}-{secrets.token_hex(6)}"
            private = Ed25519PrivateKey.generate()
            await repository.add(
                kid=kid,
                public_key=private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw),
                private_key_sealed=self._box.seal(
                    private.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption()),
                    f"signing_keys:{kid}",
                ),
                active_from=now + timedelta(seconds=delay),
            )
        await self.reload()
        log.info("signing key added", extra={"kid": kid, "publish_delay_s": delay})
        return kid

    def signing_key(self) -> tuple[str, Ed25519PrivateKey]:
        """The kid and private key that sign now."""
        record = current_key(self._keys, _now())
        if record is None:
            raise Unavailable("no signing key is active yet")
        private = self._private.get(record.kid)
        if private is None:
            raw = self._box.open(record.private_key_sealed, f"signing_keys:{record.kid}")
            private = Ed25519PrivateKey.from_private_bytes(raw)
            self._private[record.kid] = private
        return record.kid, private

    def jwks(self) -> dict[str, list[dict[str, str]]]:
        """The JWKS document: every key a valid token may carry, plus pending ones."""
        keys = published_keys(self._keys, _now(), self._token_lifetime)
        return {"keys": [public_jwk(k.kid, k.public_key) for k in keys]}

    def public_keys(self) -> dict[str, Ed25519PublicKey]:
        """Published public keys by kid (for verifying tokens here)."""
        return {
            k.kid: k.public_key for k in published_keys(self._keys, _now(), self._token_lifetime)
        }
