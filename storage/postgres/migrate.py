"""Versioned migrations (Alembic), applied by `reportbot migrate` and at start.

They only go forward and never drop what a school keeps. Every instance migrates as it
starts, one at a time: the migration runs in one transaction that first takes an advisory
lock, so a second instance starting meanwhile waits, then finds the work done. (Postgres DDL
is transactional: a migration that fails leaves the database as it was.)
"""

from __future__ import annotations

import asyncio
import functools
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import func, select
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.errors import StorageError
from storage.postgres.database import make_engine, storage_errors
from storage.readiness import Readiness

MIGRATIONS = Path(__file__).with_name("migrations")
# pg_advisory_xact_lock's key: any fixed 64-bit number no other program on the database uses.
# This one is "reportbt" in ASCII.
LOCK_KEY = 0x7265706F7274_6274
READY_TIMEOUT = 3.0  # seconds: a readiness probe must answer before the prober gives up


def _config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


@functools.cache  # the revision files ship with the code: read them once (/readyz asks often)
def head() -> str:
    """The revision this code's tables are at."""
    found = ScriptDirectory.from_config(_config()).get_current_head()
    assert found is not None, "storage/postgres/migrations has no revision"
    return found


@dataclass(frozen=True)
class Migrated:
    before: tuple[str, ...]  # the revisions the tables were at (none: a new database)
    after: str


async def migrate(engine: AsyncEngine) -> Migrated:
    """Bring the database's tables up to this code's revision."""
    async with storage_errors(), engine.begin() as conn:
        return await migrate_in(conn)


async def migrate_in(conn: AsyncConnection) -> Migrated:
    """Migrate within `conn`'s transaction, after taking the migration lock (held until the
    transaction ends: another instance starting meanwhile waits here)."""
    await conn.execute(select(func.pg_advisory_xact_lock(LOCK_KEY)))
    before = await conn.run_sync(_current)
    try:
        await conn.run_sync(lambda c: command.upgrade(_config(c), "head"))
    except CommandError:
        raise StorageError(
            f"The database's tables are at revision {', '.join(before)}, which this reportbot "
            "does not know: a newer reportbot migrated it. Run that version (or newer)."
        ) from None
    return Migrated(before, head())


async def migrate_url(url: str) -> Migrated:
    """`reportbot migrate`: migrate the database at `url`, then let it go."""
    engine = make_engine(url, pool_size=1)
    try:
        return await migrate(engine)
    finally:
        await engine.dispose()


def _current(conn: Connection) -> tuple[str, ...]:
    return MigrationContext.configure(conn).get_current_heads()


async def current(engine: AsyncEngine) -> tuple[str, ...]:
    """The revisions the database's tables are at (none before the first migration)."""
    async with storage_errors(), engine.connect() as conn:
        return await conn.run_sync(_current)


async def readiness(engine: AsyncEngine) -> Readiness:
    """The database answers, and its tables are at this code's revision."""
    try:
        async with asyncio.timeout(READY_TIMEOUT):
            found = await current(engine)
    except (StorageError, TimeoutError):
        return Readiness(False, "unreachable", "unknown")
    wanted = head()
    if found == (wanted,):
        return Readiness(True, "ok", "current")
    if not found:
        return Readiness(False, "ok", "not applied: run `reportbot migrate`")
    known = {s.revision for s in ScriptDirectory.from_config(_config()).walk_revisions()}
    if set(found) <= known:
        return Readiness(False, "ok", "behind: run `reportbot migrate`")
    return Readiness(False, "ok", "ahead: migrated by a newer reportbot")
