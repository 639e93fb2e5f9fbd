"""Per-address limits count IPv6 clients by their /64, so rotating addresses does not help."""

from __future__ import annotations

from parley_platform.ratelimit import address_bucket


def test_ipv6_addresses_of_one_64_share_a_bucket() -> None:
    a = address_bucket("2001:db8:1234:5678::1")
    b = address_bucket("2001:db8:1234:5678:ffff:ffff:ffff:fffe")
    assert a == b == "2001:db8:1234:5678::/64"
    assert address_bucket("2001:db8:1234:5679::1") != a


def test_ipv4_addresses_are_their_own_bucket_however_written() -> None:
    assert address_bucket("203.0.113.7") == "203.0.113.7"
    assert address_bucket("::ffff:203.0.113.7") == "203.0.113.7"
    assert address_bucket("203.0.113.8") != "203.0.113.7"


def test_something_that_is_not_an_address_is_kept() -> None:
    assert address_bucket("unknown") == "unknown"
