"""What the gateway's routes depend on: the components its wiring builds."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends
from parley_platform.http import component_dependency

from parley_gateway.api.openapi import OpenApiDocument
from parley_gateway.api.proxy import ApiProxy
from parley_gateway.authn.jwks import JwksCache
from parley_gateway.web.sessions import BrowserSessions
from parley_gateway.webhooks.channels import ChannelDirectory
from parley_gateway.webhooks.ingest import WebhookIngest


@dataclass(frozen=True)
class Components:
    """The running gateway's parts (built by `main.wire`)."""

    jwks: JwksCache
    proxy: ApiProxy
    openapi: OpenApiDocument
    channels: ChannelDirectory
    webhooks: WebhookIngest
    sessions: BrowserSessions


ComponentsDep = Annotated[Components, Depends(component_dependency(Components))]
