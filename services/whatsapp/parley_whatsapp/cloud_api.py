"""The WhatsApp Cloud API over HTTP: send a message, look up a media id, download media.

Every answer is one of three shapes, so callers decide without guessing: `Accepted` (Meta
took it), `Rejected` (Meta answered with an error; `maybe_accepted` when that was a 5xx,
after which Meta may still have delivered), and `NoAnswer` (no response; `maybe_sent` unless
the connection never opened). The access token goes only in the Authorization header and
never into a log line.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx
from parley.common.v1.envelope_pb2 import MetaError
from prometheus_client import Counter

CLOUD_API_ERRORS = Counter(
    "parley_whatsapp_cloud_api_errors_total", "Cloud API error answers by code", ["code"]
)


@dataclass(frozen=True)
class Accepted:
    """Meta accepted the request (wamids for messages; none for read receipts)."""

    wamids: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Rejected:
    """Meta answered with an error."""

    error: MetaError
    http_status: int

    @property
    def maybe_accepted(self) -> bool:
        """A 5xx: Meta may have accepted the message before failing to answer."""
        return self.http_status >= 500


@dataclass(frozen=True)
class NoAnswer:
    """No answer came back."""

    reason: str
    maybe_sent: bool


SendResult = Accepted | Rejected | NoAnswer


@dataclass(frozen=True)
class MediaInfo:
    """What `GET /{media-id}` says about a file."""

    url: str
    mime_type: str
    sha256: str
    file_size: int


class MediaTooLarge(Exception):
    """The media file is larger than Parley stores."""


class MediaUnavailable(Exception):
    """The media could not be downloaded (`expired`: the URL is stale, ask for a new one)."""

    def __init__(self, reason: str, *, expired: bool = False, error: MetaError | None = None):
        super().__init__(reason)
        self.expired = expired
        self.error = error


class CloudApi:
    """A client of one Graph API base URL and pinned version."""

    def __init__(
        self,
        base_url: str,
        version: str,
        *,
        timeout_s: float,
        connect_timeout_s: float,
        download_host_suffixes: Sequence[str] = (),
    ) -> None:
        self._base = f"{base_url.rstrip('/')}/{version}"
        self._graph_host = urlsplit(base_url).hostname or ""
        self._download_suffixes = tuple(download_host_suffixes)
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout_s, connect=connect_timeout_s),
            limits=httpx.Limits(max_connections=200, max_keepalive_connections=50),
            follow_redirects=False,
        )

    async def close(self) -> None:
        """Close the HTTP connection pool."""
        await self._client.aclose()

    async def send(self, phone_number_id: str, token: str, body: dict[str, Any]) -> SendResult:
        """POST one message (or read receipt) to `/{phone_number_id}/messages`."""
        try:
            response = await self._client.post(
                f"{self._base}/{phone_number_id}/messages", json=body, headers=_bearer(token)
            )
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            return NoAnswer(type(exc).__name__, maybe_sent=False)
        except httpx.HTTPError as exc:
            # The request may have reached Meta and been accepted before the answer was lost.
            return NoAnswer(type(exc).__name__, maybe_sent=True)
        if response.status_code == 200:
            data = _json(response)
            wamids = [str(m.get("id")) for m in data.get("messages") or () if m.get("id")]
            if wamids or data.get("success") is True:
                return Accepted(wamids)
            return Rejected(MetaError(message="unexpected answer without a message id"), 502)
        return _rejected(response)

    async def media_info(self, media_id: str, phone_number_id: str, token: str) -> MediaInfo:
        """`GET /{media_id}`: a fresh download URL (valid about 5 minutes) and the facts."""
        try:
            response = await self._client.get(
                f"{self._base}/{media_id}",
                params={"phone_number_id": phone_number_id},
                headers=_bearer(token),
            )
        except httpx.HTTPError as exc:
            raise ConnectionError(f"media look-up failed: {type(exc).__name__}") from exc
        if response.status_code != 200:
            rejected = _rejected(response)
            if rejected.maybe_accepted:
                raise ConnectionError(f"media look-up failed with {response.status_code}")
            raise MediaUnavailable("Meta refused the media look-up", error=rejected.error)
        data = _json(response)
        return MediaInfo(
            url=str(data.get("url") or ""),
            mime_type=str(data.get("mime_type") or "application/octet-stream"),
            sha256=str(data.get("sha256") or ""),
            file_size=int(data.get("file_size") or 0),
        )

    async def download(self, url: str, token: str, max_bytes: int) -> tuple[bytes, str]:
        """The media bytes and content type, read with the token and capped at `max_bytes`."""
        if not self._may_receive_token(url):
            raise MediaUnavailable("download URL is not on a Meta host; token withheld")
        try:
            async with self._client.stream("GET", url, headers=_bearer(token)) as response:
                if response.status_code == 404:
                    raise MediaUnavailable("download URL expired", expired=True)
                if response.status_code >= 500:
                    raise ConnectionError(f"media download failed with {response.status_code}")
                if response.status_code != 200:
                    await response.aread()
                    raise MediaUnavailable(
                        f"media download refused ({response.status_code})",
                        error=_rejected(response).error,
                    )
                declared = response.headers.get("content-length")
                if declared and declared.isdigit() and int(declared) > max_bytes:
                    raise MediaTooLarge(f"{declared} bytes")
                content = bytearray()
                async for chunk in response.aiter_bytes():
                    content += chunk
                    if len(content) > max_bytes:
                        raise MediaTooLarge(f"more than {max_bytes} bytes")
                media_type = response.headers.get("content-type", "application/octet-stream")
                return bytes(content), media_type
        except httpx.HTTPError as exc:
            raise ConnectionError(f"media download failed: {type(exc).__name__}") from exc

    def _may_receive_token(self, url: str) -> bool:
        parts = urlsplit(url)
        host = parts.hostname or ""
        if parts.scheme not in ("https", "http") or not host:
            return False
        if host == self._graph_host:
            return True
        return parts.scheme == "https" and host.endswith(self._download_suffixes)


def sha256_matches(content: bytes, announced: str) -> bool:
    """Whether Meta's `sha256` (hex in older payloads, base64 in newer) fits `content`."""

    digest = hashlib.sha256(content).digest()
    return announced in (digest.hex(), base64.b64encode(digest).decode())


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


def _rejected(response: httpx.Response) -> Rejected:
    error = _json(response).get("error")
    if not isinstance(error, dict):
        meta_error = MetaError(message=f"HTTP {response.status_code} without a Graph error")
    else:
        data = error.get("error_data") if isinstance(error.get("error_data"), dict) else {}
        try:
            code = int(error.get("code") or 0)
        except (TypeError, ValueError):
            code = 0
        meta_error = MetaError(
            code=code,
            title=str(error.get("type") or ""),
            message=str(error.get("message") or ""),
            details=str((data or {}).get("details") or ""),
        )
    CLOUD_API_ERRORS.labels(str(meta_error.code)).inc()
    return Rejected(meta_error, response.status_code)
