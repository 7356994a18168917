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
    """A signal from outside (CI runs have ended mid-suite, about 70 s in, three times): say
    which, where every thread was, and who the run's parents are. A SIGTERM then ends the
    run as it would have; a SIGHUP (a terminal or session going away) does not: the output
    goes on to whoever reads it, and nothing asked the tests to stop."""
    real_stderr = os.dup(sys.stderr.fileno())  # fd 2 is the capture's file during a test

    def said(signum: int, _frame: object) -> None:
        os.write(real_stderr, _signal_report(signum).encode())
        if signum == signal.SIGTERM:
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)

    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, said)  # then faulthandler's stacks, at once, even mid-C-call
        faulthandler.register(sig, file=real_stderr, all_threads=True, chain=True)


def _signal_report(signum: int) -> str:
    """The signal, and this process's session and parents (their command lines), from /proc."""
    lines = [f"\n!!! tests: {signal.Signals(signum).name} received (stacks above)"]
    pid = os.getpid()
    for _ in range(8):
        try:
            stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            break
        ppid, pgid, sid, tty = stat[1], stat[2], stat[3], stat[4]
        lines.append(f"  pid {pid} pgid {pgid} sid {sid} tty {tty}: {command.decode()[:200]}")
        pid = int(ppid)
        if pid <= 1:
            break
    return "\n".join(lines) + "\n"


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
