"""`reportbot serve`, unchanged, as the victim process of tests/test_faults_kill.py.

Usage: python tests/fault_server.py --data-dir DIR serve --port N   (any `reportbot` arguments)

Two things differ from the installed command, both to keep a test on this machine: the server
listens on 127.0.0.1 only (not every interface), and any connection or name lookup beyond
loopback fails, as in tests/conftest.py. Everything else (settings from the environment, the
TinyDB store, couriers, Slack and Teams adapters) is the real `adapters.cli.main`.
"""

from __future__ import annotations

import ipaddress
import socket
import sys
from typing import Any

from aiohttp import web

_connect = socket.socket.connect
_getaddrinfo = socket.getaddrinfo


def _loopback(host: Any) -> bool:
    if isinstance(host, bytes):
        host = host.decode()
    if host in ("localhost", "", None):
        return True
    try:
        return ipaddress.ip_address(str(host).split("%")[0]).is_loopback
    except ValueError:
        return False


def _guarded_connect(self: socket.socket, address: Any) -> None:
    if isinstance(address, tuple) and not _loopback(address[0]):
        raise ConnectionRefusedError(f"fault_server may only connect to loopback, not {address[0]}")
    _connect(self, address)


def _guarded_getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
    if not _loopback(host):
        raise socket.gaierror(f"fault_server may only resolve loopback names, not {host}")
    return _getaddrinfo(host, *args, **kwargs)


class _LoopbackSite(web.TCPSite):
    """`web.TCPSite` bound to 127.0.0.1 whatever host the server asks for."""

    def __init__(self, runner: web.BaseRunner, host: str | None = None, **kwargs: Any) -> None:
        super().__init__(runner, "127.0.0.1", **kwargs)


def main(argv: list[str]) -> int:
    socket.socket.connect = _guarded_connect  # type: ignore[method-assign,assignment]
    socket.getaddrinfo = _guarded_getaddrinfo
    web.TCPSite = _LoopbackSite  # type: ignore[misc,assignment]
    from adapters.cli import main as reportbot

    return reportbot(argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
