"""Dependencies shared by the auth API's routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from parley_platform.http import component_dependency
from parley_platform.http.internal import CLIENT_ADDRESS_HEADER, InternalCallDep

from parley_auth.service.context import AuthContext


async def client_address(request: Request, call: InternalCallDep) -> str:
    """The client's address as the gateway saw it (trusted only because the request carries
    the gateway's internal token, which `call` verified)."""
    return request.headers.get(CLIENT_ADDRESS_HEADER) or "unknown"


AuthContextDep = Annotated[AuthContext, Depends(component_dependency(AuthContext))]
ClientAddressDep = Annotated[str, Depends(client_address)]
