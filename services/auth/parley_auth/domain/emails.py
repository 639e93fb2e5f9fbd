"""Email addresses as account names.

An email address is unique across Parley (one account, one tenant), so that login can find
the tenant from the address alone. Addresses are compared in one canonical form: trimmed and
lower-cased (providers treat the local part case-insensitively in practice).
"""

from __future__ import annotations

import re

from parley_platform.errors import InvalidRequest

MAX_LENGTH = 254  # RFC 5321 path limit
_SHAPE = re.compile(r"[^@\s]{1,64}@[^@\s.]+(\.[^@\s.]+)+")


def canonical_email(address: str) -> str:
    """The canonical form of `address`; InvalidRequest when it is not an email address."""
    canonical = address.strip().lower()
    if len(canonical) > MAX_LENGTH or not _SHAPE.fullmatch(canonical):
        raise InvalidRequest("this is not a valid email address", code="invalid_email")
    return canonical
