"""What the whatsapp service's routes depend on: the components its wiring builds."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends
from parley_platform.db import Database
from parley_platform.http import component_dependency

from parley_whatsapp.conversation_access import ConversationAccess
from parley_whatsapp.service.media import MediaFetcher
from parley_whatsapp.service.sender import Sender


@dataclass(frozen=True)
class Components:
    """The running whatsapp service's parts (built by `main.wire`)."""

    database: Database
    sender: Sender
    media: MediaFetcher
    conversations: ConversationAccess


ComponentsDep = Annotated[Components, Depends(component_dependency(Components))]
