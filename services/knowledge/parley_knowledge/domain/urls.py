"""URLs of website imports: normalising them, staying on one site, which network addresses
may be fetched, and reading sitemaps."""

from __future__ import annotations

import ipaddress
from urllib.parse import SplitResult, urlsplit, urlunsplit

DEFAULT_PORTS = {"http": 80, "https": 443}


class InvalidUrl(ValueError):
    """Not an http(s) URL this service will fetch; the message says why."""


def normalize_url(url: str) -> str:
    """`url` in one canonical form: http(s) only, lower-case host, no default port, no
    fragment, no user info, `/` for an empty path (raises InvalidUrl)."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise InvalidUrl("the URL is malformed") from exc
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise InvalidUrl("only http and https URLs can be imported")
    if parts.username or parts.password:
        raise InvalidUrl("URLs with a user name or password cannot be imported")
    host = (parts.hostname or "").rstrip(".").lower()
    if not host:
        raise InvalidUrl("the URL has no host")
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    netloc = host if port in (None, DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    return urlunsplit(SplitResult(scheme, netloc, parts.path or "/", parts.query, ""))


def site_of(url: str) -> tuple[str, int]:
    """The (host, port) a URL belongs to: pages of one site share it (http and https of one
    host count as the same site)."""
    parts = urlsplit(url)
    return (parts.hostname or "", parts.port or DEFAULT_PORTS.get(parts.scheme, 0))


def same_site(url: str, start_url: str) -> bool:
    """Whether `url` is on the site of `start_url` (same host; same port, or both on their
    scheme's default port)."""
    host, port = site_of(url)
    start_host, start_port = site_of(start_url)
    if host != start_host:
        return False
    defaults = set(DEFAULT_PORTS.values())
    return port == start_port or (port in defaults and start_port in defaults)


def is_public_address(address: str) -> bool:
    """Whether a crawler may connect to `address`: not loopback, private, link-local,
    multicast, reserved or unspecified (IPv4-mapped IPv6 addresses judged as IPv4)."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or (isinstance(ip, ipaddress.IPv4Address) and ip in _CARRIER_GRADE_NAT)
    )


_CARRIER_GRADE_NAT = ipaddress.ip_network("100.64.0.0/10")


def sitemap_entries(xml: bytes) -> tuple[list[str], list[str]]:
    """(page URLs, nested sitemap URLs) of a sitemap or sitemap index; nothing for content
    that is not one. The parser resolves no entities and fetches nothing."""
    from lxml import etree

    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
    try:
        root = etree.fromstring(xml, parser=parser)
    except etree.XMLSyntaxError:
        return [], []
    if root is None:
        return [], []
    tag = etree.QName(root).localname
    locations = [
        (element.text or "").strip()
        for element in root.iter("{*}loc")
        if (element.text or "").strip()
    ]
    if tag == "sitemapindex":
        return [], locations
    if tag == "urlset":
        return locations, []
    return [], []
