"""The engine (SQLAlchemy's asyncio layer on asyncpg) and what its errors mean to the bot.

Nothing here puts a URL, a password or a statement's parameters into a message: engines are
made with `hide_parameters`, and errors are reported by their kind.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import orjson
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from bot.errors import ConfigError, Conflict, StorageError

CONNECT_TIMEOUT = 10.0  # seconds; asyncpg waits 60 by default
# Two writers that locked each other's rows, or a serialisation failure: the same as a
# case changed meanwhile, so the caller reads again and retries (bot.ports.Conflict).
RETRY_STATES = frozenset({"40001", "40P01"})
_SCHEMES = frozenset({"postgres", "postgresql", "postgresql+asyncpg"})


def database_url(url: str) -> URL:
    """A `postgresql://user:password@host:port/database` URL, as libpq takes it, for asyncpg.

    `sslmode=require` (libpq's spelling) becomes asyncpg's `ssl=require`.
    """
    try:
        parsed = make_url(url.strip())
    except (ArgumentError, ValueError):
        raise ConfigError(
            "REPORTBOT_DATABASE_URL is not a database URL; it looks like "
            "postgresql://USER:PASSWORD@HOST:5432/DATABASE"
        ) from None
    if parsed.drivername not in _SCHEMES:
        raise ConfigError(
            f"REPORTBOT_DATABASE_URL must start with postgresql://, not {parsed.drivername}://"
        )
    query = dict(parsed.query)
    if "sslmode" in query:
        query["ssl"] = query.pop("sslmode")
    return parsed.set(drivername="postgresql+asyncpg", query=query)


def make_engine(url: str, *, pool_size: int = 10) -> AsyncEngine:
    return create_async_engine(
        database_url(url),
        pool_size=pool_size,
        max_overflow=pool_size,
        hide_parameters=True,  # parameters are case content: never in a log or a message
        json_deserializer=orjson.loads,  # documents are read on every step: json is slower
        connect_args={
            "timeout": CONNECT_TIMEOUT,
            "server_settings": {"application_name": "reportbot"},
        },
    )


@asynccontextmanager
async def storage_errors() -> AsyncIterator[None]:
    """The database's failures as `StorageError` (or `Conflict`, for a writer to retry)."""
    try:
        yield
    except DBAPIError as e:
        state = getattr(e.orig, "sqlstate", None)
        if state in RETRY_STATES:
            raise Conflict("another writer got there first; read again and retry") from e
        raise StorageError(_failed(type(e.orig).__name__, state)) from e
    except asyncpg.PostgresError as e:  # the statements run on asyncpg directly (raw.py)
        if e.sqlstate in RETRY_STATES:
            raise Conflict("another writer got there first; read again and retry") from e
        raise StorageError(_failed(type(e).__name__, e.sqlstate)) from e
    except asyncpg.InterfaceError as e:
        raise StorageError(_failed(type(e).__name__, None)) from e
    except SQLAlchemyError as e:
        raise StorageError(_failed(type(e).__name__, None)) from e
    except (OSError, TimeoutError) as e:
        raise StorageError(
            f"The database could not be reached ({type(e).__name__}); check that it is "
            "running and that REPORTBOT_DATABASE_URL names it."
        ) from e


def _failed(kind: str, state: str | None) -> str:
    code = f", SQLSTATE {state}" if state else ""
    return f"The database could not do what was asked ({kind}{code})."
