"""Which store the bot opens (REPORTBOT_DATABASE_URL), and what /readyz is told about it."""

from __future__ import annotations

from pathlib import Path

import asyncpg
import pytest
from postgres_cluster import free_port

from bot.errors import ConfigError, StorageError
from storage.choice import open_chosen_store
from storage.postgres.database import database_url, make_engine
from storage.postgres.migrate import head
from storage.postgres.store import PostgresStore
from storage.tinydb_store import TinyStore

SECRET = "s3cret-Pa55"


def closed_url() -> str:
    """A database URL, with a password, where nothing listens."""
    return f"postgresql://reportbot:{SECRET}@127.0.0.1:{free_port()}/reportbot"


async def test_with_no_database_url_the_data_folder_is_opened(tmp_path: Path) -> None:
    opened = await open_chosen_store("", tmp_path / "data")
    try:
        assert isinstance(opened.store, TinyStore)
        assert (await opened.ready()).ready
    finally:
        await opened.store.close()


async def test_a_database_url_opens_postgres_ready_and_migrated(pg_empty_url: str) -> None:
    opened = await open_chosen_store(pg_empty_url, Path("unused"))
    try:
        assert isinstance(opened.store, PostgresStore)
        state = await opened.ready()
        assert state.ready and state.as_json() == {
            "status": "ready",
            "ready": True,
            "database": "ok",
            "migrations": "current",
        }
    finally:
        await opened.store.close()


async def test_a_reading_command_never_migrates_and_says_what_to_run(pg_empty_url: str) -> None:
    with pytest.raises(StorageError, match="run `reportbot migrate`"):
        await open_chosen_store(pg_empty_url, Path("unused"), read_only=True)
    conn = await asyncpg.connect(pg_empty_url)
    try:  # nothing was created
        assert (
            await conn.fetchval("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'") == 0
        )
    finally:
        await conn.close()


async def test_a_database_that_cannot_be_reached_is_a_storage_error_without_the_password() -> None:
    with pytest.raises(StorageError) as caught:
        await open_chosen_store(closed_url(), Path("unused"))
    assert "could not be reached" in str(caught.value) and SECRET not in str(caught.value)


@pytest.mark.parametrize(
    "url",
    ["mysql://u:s3cret-Pa55@host/db", "not a url s3cret-Pa55", "postgresql://u:s3cret-Pa55@h:x/d"],
)
async def test_a_malformed_database_url_is_a_config_error_without_the_password(url: str) -> None:
    with pytest.raises(ConfigError) as caught:
        await open_chosen_store(url, Path("unused"))
    assert "REPORTBOT_DATABASE_URL" in str(caught.value) and SECRET not in str(caught.value)


def test_a_libpq_url_is_read_for_asyncpg() -> None:
    url = database_url("postgres://u:p@db.example:6432/reportbot?sslmode=require")
    assert (url.drivername, url.host, url.port, url.database) == (
        "postgresql+asyncpg",
        "db.example",
        6432,
        "reportbot",
    )
    assert dict(url.query) == {"ssl": "require"}


async def test_not_ready_while_the_database_cannot_be_reached() -> None:
    store = PostgresStore(make_engine(closed_url()))
    try:
        state = await store.readiness()
        assert not state.ready and state.database == "unreachable"
        assert SECRET not in str(state.as_json())
    finally:
        await store.close()


async def test_not_ready_while_the_tables_are_behind(pg_url: str) -> None:
    store = PostgresStore(make_engine(pg_url))
    conn = await asyncpg.connect(pg_url)
    try:
        assert (await store.readiness()).ready
        await conn.execute("DELETE FROM alembic_version")
        state = await store.readiness()
        assert not state.ready and "reportbot migrate" in state.migrations
        await conn.execute("INSERT INTO alembic_version VALUES ('0000')")
        assert not (await store.readiness()).ready
    finally:
        await conn.execute("DELETE FROM alembic_version")
        await conn.execute("INSERT INTO alembic_version VALUES ($1)", head())
        await conn.close()
        await store.close()
