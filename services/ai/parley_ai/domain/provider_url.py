"""Which provider base URLs a tenant may save.

A base URL makes this service send requests (with the tenant's key) wherever it points. In
production it must be `https` and must not resolve to a private, loopback, link-local or
otherwise internal address, or a tenant could make the service call our own systems. In
development and tests, local servers (Ollama, vLLM, the stand-in) are allowed.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit


class UnsafeProviderUrl(ValueError):
    """The base URL may not be used (the message says why)."""


def check_shape(base_url: str, *, allow_private: bool) -> str:
    """The host of `base_url` once its form is acceptable; raises UnsafeProviderUrl."""
    parts = urlsplit(base_url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UnsafeProviderUrl("the base URL must be an http(s) URL with a host")
    if parts.username or parts.password:
        raise UnsafeProviderUrl("the base URL must not contain credentials; use the API key")
    if parts.query or parts.fragment:
        raise UnsafeProviderUrl("the base URL must not have a query or a fragment")
    if not allow_private and parts.scheme != "https":
        raise UnsafeProviderUrl("the base URL must use https")
    return parts.hostname


def is_internal(address: str) -> bool:
    """Whether an IP address is one the service must not be made to call."""
    ip = ipaddress.ip_address(address)
    return (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
    )
