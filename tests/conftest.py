"""Shared test set-up. No test reaches beyond loopback: any other connection fails loudly."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from loopback import guards


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    connect, connect_ex, getaddrinfo = guards("tests")
    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    yield
