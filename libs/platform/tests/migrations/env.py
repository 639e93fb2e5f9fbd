"""Alembic environment of the platform tests' own database."""

from parley_platform.db.migrations import run_env

run_env()
