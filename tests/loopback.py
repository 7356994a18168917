"""Loopback only: replacements for socket's connect and name lookup that refuse anything else.

Used by the tests (tests/conftest.py) and by the processes they start (tests/fault_server.py),
so that nothing under test can reach beyond this machine.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from typing import Any

REAL_CONNECT = socket.socket.connect
REAL_CONNECT_EX = socket.socket.connect_ex
REAL_GETADDRINFO = socket.getaddrinfo


def is_loopback(host: Any) -> bool:
    if isinstance(host, bytes):
        host = host.decode()
    if host in ("localhost", "", None):
        return True
    try:
        return ipaddress.ip_address(str(host).split("%")[0]).is_loopback
    except ValueError:
        return False


def _check(address: Any, who: str) -> None:
    if isinstance(address, tuple) and not is_loopback(address[0]):
        raise ConnectionRefusedError(f"{who} may only connect to loopback, not {address[0]}")


def guards(who: str) -> tuple[Callable[..., Any], Callable[..., Any], Callable[..., Any]]:
    """(connect, connect_ex, getaddrinfo) that refuse non-loopback addresses."""

    def connect(self: socket.socket, address: Any) -> None:
        _check(address, who)
        REAL_CONNECT(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        _check(address, who)
        return REAL_CONNECT_EX(self, address)

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if not is_loopback(host):
            raise socket.gaierror(f"{who} may only resolve loopback names, not {host}")
        return REAL_GETADDRINFO(host, *args, **kwargs)

    return connect, connect_ex, getaddrinfo
