"""Tenant-scoped PostgreSQL access (SQLAlchemy 2 async + asyncpg), roles and migrations."""

from parley_platform.db.session import Database, UnsafeDatabaseRoleError

__all__ = ["Database", "UnsafeDatabaseRoleError"]
