"""`reportbot serve`, unchanged, as the victim process of tests/test_faults_kill.py.

Usage: python tests/fault_server.py --data-dir DIR serve --port N   (any `reportbot` arguments)

Two things differ from the installed command, both to keep a test on this machine: the server
listens on 127.0.0.1 only (not every interface), and any connection or name lookup beyond
loopback fails, as in tests/conftest.py. Everything else (settings from the environment, the
TinyDB store, couriers, Slack and Teams adapters) is the real `adapters.cli.main`.
"""

from __future__ import annotations

import socket
import sys
from typing import Any

from aiohttp import web
from loopback import guards


class _LoopbackSite(web.TCPSite):
    """`web.TCPSite` bound to 127.0.0.1 whatever host the server asks for."""

    def __init__(self, runner: web.BaseRunner, host: str | None = None, **kwargs: Any) -> None:
        super().__init__(runner, "127.0.0.1", **kwargs)


def main(argv: list[str]) -> int:
    connect, connect_ex, getaddrinfo = guards("fault_server")
    socket.socket.connect = connect  # type: ignore[method-assign]
    socket.socket.connect_ex = connect_ex  # type: ignore[method-assign]
    socket.getaddrinfo = getaddrinfo
    web.TCPSite = _LoopbackSite  # type: ignore[misc,assignment]
    from adapters.cli import main as reportbot

    return reportbot(argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
