"""What the ai service's routes depend on: the components its wiring builds."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends
from parley_platform.db import Database
from parley_platform.http import component_dependency

from parley_ai.llm.breaker import CircuitBreakers
from parley_ai.service.responder import Responder
from parley_ai.service.settings import AiSettingsService


@dataclass(frozen=True)
class Components:
    """The running ai service's parts (built by `main.wire`)."""

    database: Database
    settings: AiSettingsService
    responder: Responder
    breakers: CircuitBreakers


ComponentsDep = Annotated[Components, Depends(component_dependency(Components))]
