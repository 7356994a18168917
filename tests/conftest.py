"""Shared test set-up. No test reaches beyond loopback: any other connection fails loudly."""

from __future__ import annotations

import asyncio
import faulthandler
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
import pytest
from loopback import guards
from postgres_cluster import SHARED, Cluster, start_cluster
from store_helpers import NOW

from bot.clock import FakeClock
from bot.ports import Store
from storage.memory import MemoryStore
from storage.postgres import migrate, open_postgres_store
from storage.postgres.database import make_engine
from storage.postgres.schema import metadata
from storage.tinydb_store import open_store


def pytest_configure(config: pytest.Config) -> None:
    """If something outside stops the run (a SIGTERM or SIGHUP from the machine), say so
    and where every thread was, before dying as the signal says: twice a CI run ended
    mid-suite with no report of why."""
    real_stderr = os.dup(sys.stderr.fileno())  # fd 2 is the capture's file during a test
    for sig in (signal.SIGTERM, signal.SIGHUP):
        faulthandler.register(sig, file=real_stderr, all_threads=True, chain=True)


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    connect, connect_ex, getaddrinfo = guards("tests")
    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    yield


# --- the stores the contract runs on (tests/test_store_contract.py) -------------------------


@pytest.fixture(params=["memory", "tinydb", "postgres"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    """Each store the bot can run on, fresh and empty."""
    made: Store
    if request.param == "postgres":
        # A sync fixture may be asked for here; an async one (pg_url) may not.
        async with clean_database(request.getfixturevalue("pg_cluster")) as url:
            made = await open_postgres_store(url, clock=FakeClock(NOW))
            yield made
            await made.close()
        return
    if request.param == "memory":
        made = MemoryStore()
    else:
        made = await open_store(tmp_path / "data", clock=FakeClock(NOW))
    yield made
    await made.close()


# --- a real Postgres (tests/postgres_cluster.py) ----------------------------------------------


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Cluster]:
    """One throw-away cluster for the session, with a migrated database the tests share (each
    empties it first). Where no server binary exists, every Postgres test fails with how to
    install one: never a skip."""
    try:
        cluster = start_cluster()
    except RuntimeError as e:
        why = str(e)
    else:
        why = ""
    if why:
        pytest.fail(why, pytrace=False)
    try:
        # In a thread of its own: the first test to need it may be running an event loop.
        with ThreadPoolExecutor(1) as thread:
            thread.submit(asyncio.run, _make_shared(cluster)).result()
        yield cluster
    finally:
        cluster.stop()


async def _make_shared(cluster: Cluster) -> None:
    admin = await asyncpg.connect(cluster.url())
    try:
        await admin.execute(f"CREATE DATABASE {SHARED}")
    finally:
        await admin.close()
    engine = make_engine(cluster.url(SHARED))
    try:
        await migrate(engine)
    finally:
        await engine.dispose()


@asynccontextmanager
async def clean_database(cluster: Cluster) -> AsyncIterator[str]:
    """The shared migrated database, emptied: every table, and the outbox's seq from 1.
    (Emptying takes 2 ms where a new database takes 100–200.) Yields its URL."""
    conn = await asyncpg.connect(cluster.url(SHARED))
    try:
        await conn.execute("SET lock_timeout = '5s'")  # a store left open fails, not hangs
        for table in metadata.sorted_tables:
            await conn.execute(f"DELETE FROM {table.name}")
        await conn.execute("ALTER TABLE outbox ALTER COLUMN seq RESTART")
    finally:
        await conn.close()
    yield cluster.url(SHARED)


@pytest.fixture
async def pg_url(pg_cluster: Cluster) -> AsyncIterator[str]:
    """A clean, migrated database for one test."""
    async with clean_database(pg_cluster) as url:
        yield url


@pytest.fixture
async def pg_empty_url(pg_cluster: Cluster) -> AsyncIterator[str]:
    """A new database with no tables at all (the migration tests start there), dropped after."""
    name = pg_cluster.next_name()
    admin = await asyncpg.connect(pg_cluster.url())
    try:
        await admin.execute(f"CREATE DATABASE {name} TEMPLATE template0")
        yield pg_cluster.url(name)
    finally:
        await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        await admin.close()
