"""URL rules of website imports: one canonical form per page, one site, public addresses
only, sitemaps read safely."""

from __future__ import annotations

import pytest
from parley_knowledge.domain.urls import (
    InvalidUrl,
    is_public_address,
    normalize_url,
    same_site,
    sitemap_entries,
)


@pytest.mark.parametrize(
    ("url", "normalized"),
    [
        ("HTTPS://Help.Example.COM", "https://help.example.com/"),
        ("https://help.example.com:443/a#section", "https://help.example.com/a"),
        ("http://help.example.com:80/a?b=1", "http://help.example.com/a?b=1"),
        ("http://help.example.com:8080/a", "http://help.example.com:8080/a"),
        ("https://help.example.com./faq", "https://help.example.com/faq"),
        ("http://[::1]:8000/x", "http://[::1]:8000/x"),
    ],
)
def test_urls_have_one_canonical_form(url, normalized):
    assert normalize_url(url) == normalized


@pytest.mark.parametrize(
    "url", ["ftp://example.com/", "https://user:pw@example.com/", "javascript:alert(1)", "/a"]
)
def test_urls_that_are_not_fetched_are_refused(url):
    with pytest.raises(InvalidUrl):
        normalize_url(url)


def test_one_site_is_one_host_whatever_the_scheme():
    start = "https://help.example.com/"
    assert same_site("https://help.example.com/a", start)
    assert same_site("http://help.example.com/a", start)
    assert not same_site("https://example.com/", start)
    assert not same_site("https://help.example.com.evil.test/", start)
    assert not same_site("https://help.example.com:8443/", start)
    assert same_site("http://127.0.0.1:8000/x", "http://127.0.0.1:8000/")
    assert not same_site("http://127.0.0.1:9000/x", "http://127.0.0.1:8000/")


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.0.0.5",
        "172.16.3.4",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",  # noqa: S104 - an address refused, not bound
        "::1",
        "fe80::1",
        "fd00::1",
        "::ffff:127.0.0.1",
        "224.0.0.1",
        "not an address",
    ],
)
def test_private_and_local_addresses_are_not_public(address):
    assert not is_public_address(address)


@pytest.mark.parametrize("address", ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"])
def test_public_addresses_are(address):
    assert is_public_address(address)


def test_sitemaps_and_indexes_are_read():
    urlset = (
        b'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        b"<url><loc> https://s.test/a </loc></url><url><loc>https://s.test/b</loc></url></urlset>"
    )
    assert sitemap_entries(urlset) == (["https://s.test/a", "https://s.test/b"], [])
    index = (
        b'<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        b"<sitemap><loc>https://s.test/pages.xml</loc></sitemap></sitemapindex>"
    )
    assert sitemap_entries(index) == ([], ["https://s.test/pages.xml"])
    assert sitemap_entries(b"<html>not a sitemap</html>") == ([], [])
    assert sitemap_entries(b"\x00garbage") == ([], [])


def test_sitemap_entities_are_not_expanded():
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE u [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
        b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>&e;</loc></url>'
        b"</urlset>"
    )
    pages, _ = sitemap_entries(bomb)
    assert all("root:" not in p for p in pages)
