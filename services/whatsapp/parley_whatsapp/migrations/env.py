"""Alembic environment: shared by every service (see parley_platform.db.migrations); the
declared tables let `alembic revision --autogenerate` draft a migration from them."""

from parley_platform.db.migrations import run_env
from parley_whatsapp.repository.tables import metadata

run_env(target_metadata=metadata)
