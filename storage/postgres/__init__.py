"""Postgres behind the store port, for a hosted deployment with several instances.

schema.py      the tables (SQLAlchemy Core), every row keyed by its school
store.py       `PostgresStore`, the `bot.ports.Store`; `open_postgres_store`
queries.py     the statements an index must serve (the tests read their plans)
rows.py        domain values as rows (JSONB through `bot.codec`, plus looked-up columns)
migrate.py     Alembic migrations under an advisory lock; readiness for /readyz
database.py    the engine (asyncio, asyncpg) and its errors as `StorageError`
migrations/    Alembic's env.py and versions/: one file a revision, never edited once
               released. A change to the tables is a new file in versions/ whose
               `down_revision` is the last one, and the same change in schema.py.
"""

from storage.postgres.migrate import migrate
from storage.postgres.store import PostgresStore, open_postgres_store

__all__ = ["PostgresStore", "migrate", "open_postgres_store"]
