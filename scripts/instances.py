"""A throw-away Postgres database and `reportbot serve` processes on it, for the scripted check
(scripts/two_instances.py) and its test.

The cluster is tests/postgres_cluster.py's (Debian's server binaries, a free loopback port, as
the `postgres` user under root). Every command runs through tests/fault_server.py: the real
`reportbot` command line, bound to 127.0.0.1 only and unable to reach beyond loopback.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator, Mapping
from contextlib import AsyncExitStack, asynccontextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.postgres.database import make_engine
from tests.postgres_cluster import Cluster, free_port, start_cluster

ROOT = Path(__file__).resolve().parents[1]
REPORTBOT = ROOT / "tests" / "fault_server.py"  # `reportbot …`, on loopback only
DATABASE = "reportbot"
START_LIMIT = 30.0  # seconds for a server to answer /readyz


@dataclass
class Databases:
    """A running throw-away cluster, to make empty databases in."""

    cluster: Cluster

    async def create(self, name: str) -> str:
        """A new, empty database (no tables: `reportbot migrate` makes them); its URL."""
        admin = make_engine(self.cluster.url(), pool_size=1)
        try:
            async with admin.connect() as conn:
                await conn.execution_options(isolation_level="AUTOCOMMIT")
                await conn.execute(text(f'CREATE DATABASE "{name}"'))
        finally:
            await admin.dispose()
        return self.cluster.url(name)


@asynccontextmanager
async def throwaway_cluster(*, fsync: bool = False) -> AsyncIterator[Databases]:
    """A new cluster on a free loopback port, stopped and removed after."""
    cluster = await asyncio.to_thread(start_cluster, fsync=fsync)
    try:
        yield Databases(cluster)
    finally:
        await asyncio.to_thread(cluster.stop)


@asynccontextmanager
async def throwaway_database(*, fsync: bool = False) -> AsyncIterator[str]:
    """A new cluster with one empty database in it; yields the database's URL."""
    async with throwaway_cluster(fsync=fsync) as databases:
        yield await databases.create(DATABASE)


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without any bot setting of its own, plus `extra`."""
    kept = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SLACK_", "Microsoft", "MICROSOFT", "REPORTBOT_", "PORT"))
    }
    return {**kept, "PYTHONPATH": str(ROOT), **extra}


async def reportbot(*args: str, env: Mapping[str, str], cwd: Path) -> tuple[int, str]:
    """Run one `reportbot` command to its end; returns its exit code and what it printed."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(REPORTBOT),
        *args,
        env=dict(env),
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(process.communicate(), 120)
    return process.returncode or 0, out.decode(errors="replace")


@dataclass
class Server:
    """One `reportbot serve` on its own port, started, killed (SIGKILL) and started again."""

    name: str
    env: Mapping[str, str]
    folder: Path  # its working folder (no reportbot.toml) and log
    port: int = 0
    process: asyncio.subprocess.Process | None = None
    up: bool = False  # a load balancer's view: answering /readyz, not killed since
    in_flight: int = 0  # requests sent to it and not yet answered
    sending: asyncio.Event = field(default_factory=asyncio.Event)  # set as a request is sent
    starts: int = 0

    def __post_init__(self) -> None:
        self.port = self.port or free_port()
        self.folder.mkdir(parents=True, exist_ok=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log(self) -> Path:
        return self.folder / "server.log"

    async def start(self, session: aiohttp.ClientSession) -> None:
        with self.log.open("ab") as log:
            self.process = await asyncio.create_subprocess_exec(
                *(sys.executable, str(REPORTBOT), "serve", "--port", str(self.port)),
                env=dict(self.env),
                cwd=self.folder,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=log,
            )
        self.starts += 1
        async with asyncio.timeout(START_LIMIT):
            while not await self._ready(session):
                if self.process.returncode is not None:
                    raise RuntimeError(f"{self.name} exited at start:\n{self.log_tail()}")
                await asyncio.sleep(0.05)
        self.up = True

    async def _ready(self, session: aiohttp.ClientSession) -> bool:
        try:
            async with session.get(f"{self.url}/readyz") as response:
                return response.status == 200
        except (aiohttp.ClientError, OSError):
            return False

    async def kill(self) -> None:
        """kill -9: no clean-up of any kind, as when a machine or container dies."""
        assert self.process is not None
        self.up = False
        self.process.send_signal(signal.SIGKILL)
        await self.process.wait()

    async def stop(self) -> None:
        """A graceful stop (SIGTERM), waited for."""
        self.up = False
        if self.process is None or self.process.returncode is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(self.process.wait(), 15)
        except TimeoutError:
            with suppress(ProcessLookupError):
                self.process.kill()
            await self.process.wait()

    def log_tail(self, lines: int = 30) -> str:
        if not self.log.exists():
            return ""
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


@dataclass
class Started:
    """Two `reportbot serve` processes on one migrated database, and a way to read it."""

    session: aiohttp.ClientSession
    servers: list[Server]
    db: AsyncEngine


async def start_two(stack: AsyncExitStack, folder: Path, env: Mapping[str, str]) -> Started:
    """`reportbot migrate`, then instances "one" and "two" with `env`, stopped by `stack`."""
    code, out = await reportbot("migrate", env=env, cwd=folder)
    if code != 0:
        raise RuntimeError(f"reportbot migrate failed ({code}):\n{out}")
    session = await stack.enter_async_context(aiohttp.ClientSession())
    servers = [Server(f"instance {name}", env, folder / name) for name in ("one", "two")]
    for server in servers:
        stack.push_async_callback(server.stop)
    await asyncio.gather(*(s.start(session) for s in servers))
    db = make_engine(env["REPORTBOT_DATABASE_URL"], pool_size=2)
    stack.push_async_callback(db.dispose)
    return Started(session, servers, db)
