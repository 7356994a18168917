"""Postgres behind the store port, for a hosted deployment with several instances.

    schema.py      the tables (SQLAlchemy Core), every row keyed by its school
    migrate.py     Alembic migrations under an advisory lock; readiness for /readyz
    database.py    the engine (asyncio, asyncpg) and its errors as `StorageError`
    migrations/    Alembic's env.py and versions/: one file a revision, never edited once
                   released. A change to the tables is a new file in versions/ whose
                   `down_revision` is the last one, and the same change in schema.py.
"""

from storage.postgres.migrate import migrate

__all__ = ["migrate"]
