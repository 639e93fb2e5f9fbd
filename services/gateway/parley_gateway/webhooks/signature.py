"""Meta's `X-Hub-Signature-256`: HMAC-SHA256 of the raw request body with the app secret."""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "x-hub-signature-256"
_PREFIX = "sha256="


def is_valid_signature(raw_body: bytes, header: str | None, app_secret: str) -> bool:
    """True when `header` is `sha256=<hex>` of `raw_body` under `app_secret`.

    Computed over the exact bytes received, before any parsing (a re-serialised body differs
    from Meta's bytes), compared in constant time, and failing closed on a missing header or
    an empty secret.
    """
    if not header or not app_secret or not header.startswith(_PREFIX):
        return False
    expected = hmac.new(app_secret.encode(), raw_body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), header[len(_PREFIX) :].strip().lower().encode())
