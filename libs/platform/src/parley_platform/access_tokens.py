"""Parley access tokens: short-lived JWTs that the auth service signs and anyone holding its
published keys (the gateway first of all) verifies.

The format, in one place for issuer and verifiers: EdDSA (Ed25519) signatures, `kid` and
`typ: at+jwt` in the header, `iss`, `aud`, `sub` (user id), `tid` (tenant id), `role`,
`teams`, `iat`, `exp` and `jti` in the claims. Verification pins the algorithm, requires
every one of those claims and checks `iss`, `aud` and `exp`; a key is chosen by `kid` among
the keys the caller trusts, never from anything else in the token.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from parley_platform.identity import Principal, Role

ALGORITHM = "EdDSA"
TOKEN_TYPE = "at+jwt"  # noqa: S105 - the JWT `typ` of access tokens (RFC 9068)
MAX_TTL_S = 15 * 60
# Tolerated clock difference between the issuer and a verifier.
DEFAULT_LEEWAY_S = 10
_REQUIRED_CLAIMS = ("iss", "aud", "sub", "tid", "role", "iat", "exp", "jti")


class InvalidAccessToken(Exception):
    """The token is malformed, forged, expired, or not meant for this audience. The message
    is a short reason for logs and metrics; clients get one generic answer."""


@dataclass(frozen=True)
class AccessToken:
    """A verified access token."""

    principal: Principal
    key_id: str
    token_id: str
    issued_at: int
    expires_at: int


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def public_jwk(key_id: str, public_key: Ed25519PublicKey) -> dict[str, str]:
    """The JWK (RFC 8037) of one signing key's public half."""
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    raw = public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)
    return {
        "kty": "OKP",
        "crv": "Ed25519",
        "x": _b64url(raw),
        "kid": key_id,
        "alg": ALGORITHM,
        "use": "sig",
    }


def keys_from_jwks(document: Mapping[str, Any]) -> dict[str, Ed25519PublicKey]:
    """The Ed25519 signing keys of a JWKS document by `kid`; anything else is ignored."""
    keys: dict[str, Ed25519PublicKey] = {}
    for jwk in document.get("keys") or ():
        if not isinstance(jwk, Mapping):
            continue
        if (jwk.get("kty"), jwk.get("crv"), jwk.get("alg", ALGORITHM)) != (
            "OKP",
            "Ed25519",
            ALGORITHM,
        ) or jwk.get("use", "sig") != "sig":
            continue
        kid, x = jwk.get("kid"), jwk.get("x")
        if not isinstance(kid, str) or not isinstance(x, str):
            continue
        try:
            keys[kid] = Ed25519PublicKey.from_public_bytes(_b64url_decode(x))
        except ValueError:
            continue
    return keys


def issue_access_token(
    *,
    principal: Principal,
    private_key: Ed25519PrivateKey,
    key_id: str,
    issuer: str,
    audience: str,
    issued_at: int,
    ttl_s: int,
    token_id: str,
) -> str:
    """A signed access token for a user principal."""
    if principal.user_id is None:
        raise ValueError("access tokens are issued to users, not API keys")
    if not 0 < ttl_s <= MAX_TTL_S:
        raise ValueError(f"access tokens live at most {MAX_TTL_S} s")
    claims = {
        "iss": issuer,
        "aud": audience,
        "sub": str(principal.user_id),
        "tid": str(principal.tenant_id),
        "role": principal.role.value,
        "teams": sorted(str(t) for t in principal.team_ids),
        "iat": issued_at,
        "exp": issued_at + ttl_s,
        "jti": token_id,
    }
    return jwt.encode(
        claims, private_key, algorithm=ALGORITHM, headers={"kid": key_id, "typ": TOKEN_TYPE}
    )


def unverified_key_id(token: str) -> str:
    """The `kid` a token claims to be signed with (to pick, or fetch, the key)."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise InvalidAccessToken("malformed token") from exc
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise InvalidAccessToken("token has no kid")
    return kid


def verify_access_token(
    token: str,
    keys: Mapping[str, Ed25519PublicKey],
    *,
    issuer: str,
    audience: str,
    leeway_s: int = DEFAULT_LEEWAY_S,
) -> AccessToken:
    """The verified content of `token`, or InvalidAccessToken."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise InvalidAccessToken("malformed token") from exc
    # Checked before PyJWT sees the token too: only our one algorithm and token type pass.
    if header.get("alg") != ALGORITHM or header.get("typ") != TOKEN_TYPE:
        raise InvalidAccessToken("unexpected algorithm or token type")
    key = keys.get(unverified_key_id(token))
    if key is None:
        raise InvalidAccessToken("unknown signing key")
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],
            audience=audience,
            issuer=issuer,
            leeway=leeway_s,
            options={"require": list(_REQUIRED_CLAIMS)},
        )
    except jwt.ExpiredSignatureError as exc:
        raise InvalidAccessToken("token expired") from exc
    except jwt.PyJWTError as exc:
        raise InvalidAccessToken(f"invalid token: {type(exc).__name__}") from exc
    try:
        if int(claims["exp"]) - int(claims["iat"]) > MAX_TTL_S:
            raise InvalidAccessToken("token lifetime exceeds the maximum")
        principal = Principal(
            tenant_id=UUID(str(claims["tid"])),
            role=Role(claims["role"]),
            user_id=UUID(str(claims["sub"])),
            team_ids=frozenset(UUID(str(t)) for t in claims.get("teams") or ()),
        )
    except (ValueError, TypeError) as exc:
        raise InvalidAccessToken("malformed claims") from exc
    return AccessToken(
        principal=principal,
        key_id=str(header["kid"]),
        token_id=str(claims["jti"]),
        issued_at=int(claims["iat"]),
        expires_at=int(claims["exp"]),
    )
