"""Alembic environment: shared by every service (see parley_platform.db.migrations)."""

from parley_ai.repository.tables import metadata
from parley_platform.db.migrations import run_env

run_env(target_metadata=metadata)
