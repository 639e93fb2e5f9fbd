"""The client's network address, as far as it can be trusted.

By default it is the connection's peer. A forwarding header (X-Forwarded-For by default) is
read only when the peer is a configured trusted proxy, and then from the right: each trusted
proxy appended the address it saw, so the first address from the right that is not a
trusted proxy is the client. Anything a client writes into the header itself stays to the
left of that and is ignored.
"""

from __future__ import annotations

from collections.abc import Sequence
from ipaddress import IPv4Network, IPv6Network, ip_address, ip_network

from starlette.requests import Request

Network = IPv4Network | IPv6Network


def parse_networks(cidrs: Sequence[str]) -> list[Network]:
    return [ip_network(cidr, strict=False) for cidr in cidrs]


def _trusted(address: str, networks: Sequence[Network]) -> bool:
    try:
        parsed = ip_address(address)
    except ValueError:
        return False
    return any(parsed in network for network in networks)


def client_address(request: Request, trusted: Sequence[Network], header: str) -> str:
    peer = request.client.host if request.client else "unknown"
    forwarded = request.headers.get(header) if trusted and _trusted(peer, trusted) else None
    if not forwarded:
        return peer
    nearest = peer
    for hop in reversed([h.strip() for h in forwarded.split(",")]):
        try:
            ip_address(hop)
        except ValueError:
            break  # not written by a proxy of ours: stop at the last address we trust
        if not _trusted(hop, trusted):
            return hop
        nearest = hop
    return nearest
