"""Running on Postgres: REPORTBOT_DATABASE_URL chooses it, `reportbot migrate`, `/readyz`."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer
from postgres_cluster import free_port

from adapters.cli import main
from adapters.compose import DATABASE_URL, build_runtime, runtime_for
from adapters.server import build_app
from bot.config import Settings
from storage.postgres.database import make_engine
from storage.postgres.migrate import head
from storage.postgres.store import PostgresStore
from storage.readiness import ReadyCheck, always_ready
from storage.tinydb_store import TinyStore

SECRET = "s3cret-Pa55"


async def test_the_database_url_chooses_postgres_and_its_absence_the_data_folder(
    pg_url: str, tmp_path: Path
) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    async with runtime_for(settings, env={DATABASE_URL: pg_url}) as runtime:
        assert isinstance(runtime.store, PostgresStore)
        assert (await runtime.ready()).migrations == "current"
    async with runtime_for(settings, env={}) as runtime:
        assert isinstance(runtime.store, TinyStore)


def run_cli(*argv: str) -> int:
    return main(list(argv))


async def test_migrate_creates_the_tables_then_finds_nothing_to_do(
    pg_empty_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(DATABASE_URL, pg_empty_url)
    assert await asyncio.to_thread(run_cli, "migrate") == 0
    assert f"from revision none to {head()}" in capsys.readouterr().out
    assert await asyncio.to_thread(run_cli, "migrate") == 0
    assert "up to date" in capsys.readouterr().out


async def test_migrate_without_a_database_says_what_it_is_for(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv(DATABASE_URL, raising=False)
    assert await asyncio.to_thread(run_cli, "migrate") == 2
    err = capsys.readouterr().err
    assert "REPORTBOT_DATABASE_URL is not set" in err and "Traceback" not in err


async def test_migrate_on_a_database_out_of_reach_says_so_without_the_password(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(DATABASE_URL, f"postgresql://u:{SECRET}@127.0.0.1:{free_port()}/db")
    assert await asyncio.to_thread(run_cli, "migrate") == 2
    out = capsys.readouterr()
    assert "could not be reached" in out.err and SECRET not in out.err + out.out


async def readyz(ready: ReadyCheck, tmp_path: Path) -> tuple[int, dict[str, object]]:
    from storage.memory import MemoryStore

    runtime = build_runtime(Settings(data_dir=tmp_path), MemoryStore(), ready=ready)
    app, _ = await build_app(runtime, {})
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        response = await client.get("/readyz")
        return response.status, await response.json()


async def test_readyz_is_200_while_the_database_is_ready(pg_url: str, tmp_path: Path) -> None:
    store = PostgresStore(make_engine(pg_url))
    try:
        status, body = await readyz(store.readiness, tmp_path)
    finally:
        await store.close()
    assert status == 200 and body["status"] == "ready" and body["migrations"] == "current"


async def test_readyz_is_503_when_the_database_is_out_of_reach(tmp_path: Path) -> None:
    store = PostgresStore(make_engine(f"postgresql://u:{SECRET}@127.0.0.1:{free_port()}/db"))
    try:
        status, body = await readyz(store.readiness, tmp_path)
    finally:
        await store.close()
    assert status == 503 and body["database"] == "unreachable" and SECRET not in str(body)


async def test_readyz_is_503_while_the_tables_are_not_migrated(
    pg_empty_url: str, tmp_path: Path
) -> None:
    store = PostgresStore(make_engine(pg_empty_url))
    try:
        status, body = await readyz(store.readiness, tmp_path)
    finally:
        await store.close()
    assert status == 503 and "reportbot migrate" in str(body["migrations"])


async def test_readyz_on_the_data_folder_is_200(tmp_path: Path) -> None:
    assert (await readyz(always_ready, tmp_path))[0] == 200
