"""Reading and saving a tenant's AI settings (owner/admin).

Saving an `openai-compatible` configuration first makes a real test call to each model with
the key that will be stored; nothing is saved unless every model answers, and the error says
what the provider said (wrong key, unknown model, unreachable, timed out). The API key is
sealed before it is stored, opened only to call the provider, and never returned.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from dataclasses import dataclass, replace
from uuid import UUID

from parley_platform.crypto import SealedSecretError, SecretBox
from parley_platform.db import Database
from parley_platform.errors import InvalidRequest

from parley_ai.config import Settings
from parley_ai.domain.presets import PRESETS
from parley_ai.domain.provider_url import UnsafeProviderUrl, check_shape, is_internal
from parley_ai.domain.settings import AiSettings, Provider, api_key_context
from parley_ai.llm.client import ChatClient, Endpoint, ProviderError
from parley_ai.repository.settings import SettingsRepository

KEEP_KEY = object()  # the request did not mention the key: keep the stored one


@dataclass(frozen=True)
class SettingsView:
    settings: AiSettings
    api_key_configured: bool


class AiSettingsService:
    """The settings use cases."""

    def __init__(
        self,
        settings: Settings,
        database: Database,
        client: ChatClient,
        keys: SecretBox,
        on_change: Callable[[UUID], None] = lambda _: None,
    ) -> None:
        self._settings = settings
        self._database = database
        self._client = client
        self._keys = keys
        self._on_change = on_change

    async def view(self, tenant_id: UUID) -> SettingsView:
        async with self._database.tenant_session(tenant_id) as session:
            stored = await SettingsRepository(session, tenant_id).load()
        return SettingsView(stored.settings, stored.sealed_api_key is not None)

    async def save(
        self,
        tenant_id: UUID,
        wanted: AiSettings,
        api_key: str | object | None,
        *,
        updated_by: UUID | None,
    ) -> SettingsView:
        """Validate (with a test call for a model provider) and store `wanted`. `api_key`:
        a new key, None to remove it, or KEEP_KEY."""
        wanted = self._with_preset(wanted)
        async with self._database.tenant_session(tenant_id) as session:
            stored = await SettingsRepository(session, tenant_id).load()
        context = api_key_context(tenant_id)
        if api_key is KEEP_KEY:
            sealed = stored.sealed_api_key
            try:
                plain = self._keys.open_text(sealed, context) if sealed else ""
            except SealedSecretError as exc:
                raise InvalidRequest(
                    "the stored API key can no longer be read; send the key again",
                    code="api_key_unreadable",
                ) from exc
        else:
            plain = str(api_key or "")
            sealed = self._keys.seal_text(plain, context) if plain else None
        if wanted.provider == Provider.OPENAI_COMPATIBLE:
            await self._check_provider(wanted, plain)
        async with self._database.tenant_session(tenant_id) as session:
            await SettingsRepository(session, tenant_id).save(wanted, sealed, updated_by=updated_by)
        self._on_change(tenant_id)
        return await self.view(tenant_id)

    @staticmethod
    def _with_preset(wanted: AiSettings) -> AiSettings:
        if wanted.preset is None:
            return wanted
        preset = PRESETS.get(wanted.preset)
        if preset is None:
            raise InvalidRequest(
                f"unknown preset {wanted.preset!r}; known: {', '.join(sorted(PRESETS))}",
                code="unknown_preset",
            )
        return replace(
            wanted,
            provider=Provider.OPENAI_COMPATIBLE,
            base_url=wanted.base_url or preset.base_url,
            model=wanted.model or preset.model,
            fallback_model=wanted.fallback_model or preset.fallback_model,
        )

    async def _check_provider(self, wanted: AiSettings, api_key: str) -> None:
        if not wanted.base_url or not wanted.model:
            raise InvalidRequest(
                "the openai-compatible provider needs a base_url and a model (or a preset)",
                code="provider_incomplete",
            )
        allow_private = bool(self._settings.allow_private_provider_urls)
        try:
            host = check_shape(wanted.base_url, allow_private=allow_private)
            if not allow_private:
                await self._refuse_internal(host)
        except UnsafeProviderUrl as exc:
            raise InvalidRequest(str(exc), code="unsafe_base_url") from exc
        for model in wanted.models:
            try:
                await self._client.complete(
                    Endpoint(wanted.base_url, api_key, model),
                    [{"role": "user", "content": "Reply with the single word OK."}],
                    temperature=0,
                    max_tokens=5,
                    timeout_s=self._settings.validation_timeout_s,
                )
            except ProviderError as exc:
                raise InvalidRequest(
                    f"the test call to model {model!r} failed: {exc.detail}",
                    code="provider_check_failed",
                    details={"model": model, "failure": exc.kind.value, "status": exc.status},
                ) from exc

    @staticmethod
    async def _refuse_internal(host: str) -> None:
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(
                host, None, type=socket.SOCK_STREAM
            )
        except OSError as exc:
            raise UnsafeProviderUrl(f"the base URL's host {host!r} does not resolve") from exc
        if any(is_internal(str(info[4][0])) for info in infos):
            raise UnsafeProviderUrl("the base URL points at an internal address")
