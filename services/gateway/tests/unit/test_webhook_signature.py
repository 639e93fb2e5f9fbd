"""Meta's X-Hub-Signature-256 check (WHATSAPP.md §2): HMAC-SHA256 of the exact raw bytes,
constant-time comparison, failing closed."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest
from parley_gateway.webhooks.signature import is_valid_signature

SECRET = "the-app-secret"
# Meta's bytes: escaped unicode and slashes, which a re-serialiser would rewrite.
RAW = b'{"entry":[{"text":"Ol\\u00e1 \\ud83d\\udc4b https:\\/\\/shop.example\\/o\\/1 @ana"}]}'


def sign(raw: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()


def test_the_signature_of_the_raw_bytes_is_valid() -> None:
    assert is_valid_signature(RAW, sign(RAW), SECRET)
    # Hex case and surrounding spaces do not matter.
    assert is_valid_signature(RAW, sign(RAW).upper().replace("SHA256=", "sha256="), SECRET)
    assert is_valid_signature(RAW, sign(RAW) + " ", SECRET)


def test_a_signature_over_the_re_serialised_body_is_not_valid() -> None:
    reserialised = json.dumps(json.loads(RAW)).encode()
    assert reserialised != RAW
    assert not is_valid_signature(RAW, sign(reserialised), SECRET)


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "sha256=",
        sign(RAW)[len("sha256=") :],  # no prefix
        "sha1=" + sign(RAW)[len("sha256=") :],
        sign(RAW, "another-secret"),
        sign(RAW + b" "),
        sign(RAW)[:-2],
        "sha256=ünïcode",
    ],
)
def test_anything_else_fails_closed(header: str | None) -> None:
    assert not is_valid_signature(RAW, header, SECRET)


def test_an_empty_app_secret_never_validates() -> None:
    assert not is_valid_signature(RAW, sign(RAW, ""), "")
