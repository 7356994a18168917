"""Shared test set-up. No test reaches beyond loopback: any other connection fails loudly."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from loopback import guards
from store_helpers import NOW

from bot.clock import FakeClock
from bot.ports import Store
from storage.memory import MemoryStore
from storage.tinydb_store import open_store


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    connect, connect_ex, getaddrinfo = guards("tests")
    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    yield


# --- the stores the contract runs on (tests/test_store_contract.py) -------------------------


@pytest.fixture(params=["memory", "tinydb"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    """Each store the bot can run on, fresh and empty."""
    made: Store
    if request.param == "memory":
        made = MemoryStore()
    else:
        made = await open_store(tmp_path / "data", clock=FakeClock(NOW))
    yield made
    await made.close()
