"""The WhatsApp Cloud API over HTTP: send a message, look up a media id, download media.

Every answer is one of three shapes, so callers decide without guessing: `Accepted` (Meta
took it), `Rejected` (Meta answered with an error; `maybe_accepted` when that was a 5xx,
after which Meta may still have delivered), and `NoAnswer` (no response; `maybe_sent` unless
the connection never opened). The access token goes only in the Authorization header and
never into a log line.

The client is aiohttp's: every answer to a customer costs two requests here (the read receipt
and the reply), and aiohttp spends a fifth of httpx's CPU on each (decision 82).
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import aiohttp
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
        # Waiting for a pooled connection may take `timeout_s`, opening one
        # `connect_timeout_s`, and each read `timeout_s`.
        self._session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(
                total=None, connect=timeout_s, sock_connect=connect_timeout_s, sock_read=timeout_s
            ),
            # An idle connection is dropped before a server's usual 5 s idle timeout, so that a
            # message is never written to a connection the far side is closing (its answer
            # would be lost, and the retry flagged as a possible duplicate).
            connector=aiohttp.TCPConnector(limit=200, keepalive_timeout=4.0),
        )

    async def close(self) -> None:
        """Close the HTTP connection pool."""
        await self._session.close()

    async def send(self, phone_number_id: str, token: str, body: dict[str, Any]) -> SendResult:
        """POST one message (or read receipt) to `/{phone_number_id}/messages`."""
        try:
            async with self._session.post(
                f"{self._base}/{phone_number_id}/messages",
                json=body,
                headers=_bearer(token),
                allow_redirects=False,
            ) as response:
                status, content = response.status, await response.read()
        except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError) as exc:
            return NoAnswer(type(exc).__name__, maybe_sent=False)
        except (TimeoutError, aiohttp.ClientError) as exc:
            # The request may have reached Meta and been accepted before the answer was lost.
            return NoAnswer(type(exc).__name__, maybe_sent=True)
        if status == 200:
            data = _json(content)
            wamids = [str(m.get("id")) for m in data.get("messages") or () if m.get("id")]
            if wamids or data.get("success") is True:
                return Accepted(wamids)
            return Rejected(MetaError(message="unexpected answer without a message id"), 502)
        return _rejected(status, content)

    async def media_info(self, media_id: str, phone_number_id: str, token: str) -> MediaInfo:
        """`GET /{media_id}`: a fresh download URL (valid about 5 minutes) and the facts."""
        try:
            async with self._session.get(
                f"{self._base}/{media_id}",
                params={"phone_number_id": phone_number_id},
                headers=_bearer(token),
                allow_redirects=False,
            ) as response:
                status, content = response.status, await response.read()
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise ConnectionError(f"media look-up failed: {type(exc).__name__}") from exc
        if status != 200:
            rejected = _rejected(status, content)
            if rejected.maybe_accepted:
                raise ConnectionError(f"media look-up failed with {status}")
            raise MediaUnavailable("Meta refused the media look-up", error=rejected.error)
        data = _json(content)
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
            async with self._session.get(
                url, headers=_bearer(token), allow_redirects=False
            ) as response:
                status = response.status
                if status == 404:
                    raise MediaUnavailable("download URL expired", expired=True)
                if status >= 500:
                    raise ConnectionError(f"media download failed with {status}")
                if status != 200:
                    raise MediaUnavailable(
                        f"media download refused ({status})",
                        error=_rejected(status, await response.read()).error,
                    )
                declared = response.headers.get("content-length")
                if declared and declared.isdigit() and int(declared) > max_bytes:
                    raise MediaTooLarge(f"{declared} bytes")
                content = bytearray()
                async for chunk in response.content.iter_chunked(64 * 1024):
                    content += chunk
                    if len(content) > max_bytes:
                        raise MediaTooLarge(f"more than {max_bytes} bytes")
                media_type = response.headers.get("content-type", "application/octet-stream")
                return bytes(content), media_type
        except (TimeoutError, aiohttp.ClientError) as exc:
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


def _json(content: bytes) -> dict[str, Any]:
    try:
        data = json.loads(content)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


def _rejected(status: int, content: bytes) -> Rejected:
    error = _json(content).get("error")
    if not isinstance(error, dict):
        meta_error = MetaError(message=f"HTTP {status} without a Graph error")
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
    return Rejected(meta_error, status)
