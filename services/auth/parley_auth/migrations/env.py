"""Alembic environment: shared by every service (see parley_platform.db.migrations), with
the auth tables as declared once in repository/tables.py."""

from parley_auth.repository.tables import metadata
from parley_platform.db.migrations import run_env

run_env(target_metadata=metadata)
