"""Which store the bot runs on: Postgres when it is given a database URL, else the TinyDB
data folder (the default: a school running its own bot needs no database server)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bot.ports import Clock, SchoolStores, Store
from storage.readiness import ReadyCheck, always_ready
from storage.tinydb_store import open_store


@dataclass(frozen=True)
class OpenedStore:
    store: Store
    ready: ReadyCheck  # for /readyz
    schools: SchoolStores | None = None  # Postgres: a store for each school


async def open_chosen_store(
    database_url: str, data_dir: Path, *, read_only: bool = False, clock: Clock | None = None
) -> OpenedStore:
    """Open Postgres at `database_url` (migrating it first, unless `read_only`: a reading
    command never changes the tables) or, with no URL, the data folder."""
    if database_url.strip():
        # Imported here: SQLAlchemy takes 0.3 s to load, which the TinyDB default never needs.
        from storage.postgres import open_postgres_store

        store = await open_postgres_store(database_url, clock=clock, migrate_now=not read_only)
        return OpenedStore(store, store.readiness, store)
    tiny = await open_store(data_dir, clock=clock, read_only=read_only)
    return OpenedStore(tiny, always_ready)
