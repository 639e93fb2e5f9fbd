"""Which client address counts (authn/client_address.py): the connection's peer, or what
trusted proxies appended to X-Forwarded-For, never what a client wrote there itself."""

from __future__ import annotations

import pytest
from parley_gateway.authn.client_address import client_address, parse_networks
from starlette.requests import Request


def _request(peer: str | None, forwarded: str | None, header: str = "x-forwarded-for") -> Request:
    headers = [(header.encode(), forwarded.encode())] if forwarded else []
    scope = {"type": "http", "headers": headers, "client": (peer, 1234) if peer else None}
    return Request(scope)


@pytest.mark.parametrize(
    ("peer", "forwarded", "trusted", "expected"),
    [
        # No trusted proxy: the header is ignored, whatever it says.
        ("203.0.113.9", "1.2.3.4", [], "203.0.113.9"),
        # A trusted proxy: the address it appended is the client.
        ("10.0.0.5", "198.51.100.7", ["10.0.0.0/8"], "198.51.100.7"),
        # A client's own forged entries stay left of what the proxy appended.
        ("10.0.0.5", "1.2.3.4, 198.51.100.7", ["10.0.0.0/8"], "198.51.100.7"),
        # Two trusted hops: skip both.
        ("10.0.0.5", "198.51.100.7, 10.0.0.9", ["10.0.0.0/8"], "198.51.100.7"),
        # A peer that is not trusted cannot use the header.
        ("198.51.100.7", "10.0.0.1", ["10.0.0.0/8"], "198.51.100.7"),
        # Garbage is not an address: stop at the last address a trusted proxy wrote.
        ("10.0.0.5", "not-an-ip", ["10.0.0.0/8"], "10.0.0.5"),
        ("10.0.0.5", "198.51.100.7, not-an-ip, 10.0.0.9", ["10.0.0.0/8"], "10.0.0.9"),
        # Every hop trusted: the farthest trusted one.
        ("10.0.0.5", "10.0.0.8, 10.0.0.9", ["10.0.0.0/8"], "10.0.0.8"),
        # IPv6, and several trusted networks.
        ("fd00::1", "2001:db8::7", ["fd00::/8"], "2001:db8::7"),
        ("192.168.1.2", "10.1.1.1, 2001:db8::7", ["10.0.0.0/8", "192.168.0.0/16"], "2001:db8::7"),
        # An empty header is no header.
        ("10.0.0.5", "", ["10.0.0.0/8"], "10.0.0.5"),
    ],
)
def test_the_client_address_is_taken_from_trusted_hops_only(
    peer: str, forwarded: str, trusted: list[str], expected: str
) -> None:
    address = client_address(_request(peer, forwarded), parse_networks(trusted), "x-forwarded-for")
    assert address == expected


def test_the_forwarding_header_name_is_configurable() -> None:
    request = _request("10.0.0.5", "198.51.100.7", header="x-real-client")
    trusted = parse_networks(["10.0.0.0/8"])
    assert client_address(request, trusted, "x-real-client") == "198.51.100.7"
    assert client_address(request, trusted, "x-forwarded-for") == "10.0.0.5"


def test_a_request_without_a_peer_is_unknown() -> None:
    assert client_address(_request(None, "1.2.3.4"), parse_networks(["0.0.0.0/0"]), "x") == (
        "unknown"
    )


def test_networks_may_be_written_with_host_bits_set() -> None:
    assert [str(n) for n in parse_networks(["10.0.0.5/8", "fd00::1/8"])] == [
        "10.0.0.0/8",
        "fd00::/8",
    ]
