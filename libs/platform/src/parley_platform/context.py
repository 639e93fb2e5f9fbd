"""The verified tenant of the work in progress, carried in a context variable.

It is set only where the tenant was verified (a token's claims, an API key, the channel
registry, a trusted event header, gRPC metadata from an authenticated service) and read by
logging, the gRPC client (to forward it) and code that needs "the current tenant".
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from uuid import UUID

_current_tenant: ContextVar[UUID | None] = ContextVar("parley_tenant_id", default=None)


class MissingTenantError(LookupError):
    """Code that needs a verified tenant ran without one."""


def current_tenant() -> UUID | None:
    """The verified tenant of this task, or None outside tenant work."""
    return _current_tenant.get()


def require_tenant() -> UUID:
    """The verified tenant of this task; raises when there is none."""
    tenant = _current_tenant.get()
    if tenant is None:
        raise MissingTenantError("no verified tenant in this context")
    return tenant


def enter_tenant(tenant_id: UUID) -> None:
    """Make `tenant_id` (verified by the caller) the tenant of the rest of this task, e.g. of
    one HTTP request once its credential was checked."""
    _current_tenant.set(tenant_id)


@contextmanager
def tenant_scope(tenant_id: UUID | str) -> Iterator[UUID]:
    """Run a block on behalf of `tenant_id` (which the caller has verified)."""
    tenant = tenant_id if isinstance(tenant_id, UUID) else UUID(str(tenant_id))
    token = _current_tenant.set(tenant)
    try:
        yield tenant
    finally:
        _current_tenant.reset(token)
