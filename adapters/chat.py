"""`reportbot chat`: the whole report in a shell, no Slack or Teams account needed.

Wires the terminal (`adapters.terminal`) to the runtime and runs one conversation. Input is
read on a worker thread so the event loop stays free; it works from a keyboard or from piped
input, so a whole report can be scripted. The local operator is treated as a leader, and what
leadership would receive is shown in a marked panel.
"""

from __future__ import annotations

import asyncio
import getpass
import sys
import threading
from collections.abc import Callable
from typing import TextIO

from adapters.compose import Runtime
from adapters.terminal import TerminalSender, render
from bot.model import Person, Platform, Turn
from bot.resolve import complete


class _LineReader:
    """Reads lines on a daemon thread, so the event loop stays free and Ctrl-C exits at once.

    (A thread from asyncio's default executor would be joined at exit, waiting for Enter.)
    """

    def __init__(self, read_line: Callable[[], str]) -> None:
        self._read_line = read_line
        self._loop = asyncio.get_running_loop()
        self._lines: asyncio.Queue[str] = asyncio.Queue()
        self._wanted = threading.Semaphore(0)
        threading.Thread(target=self._pump, name="terminal-input", daemon=True).start()

    def _pump(self) -> None:
        while True:
            self._wanted.acquire()  # read only when asked: piped input stays in the pipe
            try:
                line = self._read_line()
            except (OSError, ValueError):
                line = ""
            self._loop.call_soon_threadsafe(self._lines.put_nowait, line)
            if not line:
                return

    async def next(self) -> str:
        self._wanted.release()
        return await self._lines.get()


async def _goodbye(runtime: Runtime, person: Person) -> str:
    conv = await runtime.store.conversation(person.key)
    if conv is not None and conv.step == "end":
        ref = conv.case_reference
        return f"(report {ref} is filed; after contacting POSH: reportbot cases move {ref} sent)"
    return "(end of input – your answers so far are saved; run it again to carry on)"


def local_person() -> Person:
    # The computer's user name identifies the operator in the history, but is never taken
    # for the reporter's name: the report asks for that.
    return Person(Platform.TERMINAL, "local", getpass.getuser())


async def chat(
    runtime: Runtime,
    *,
    read_line: Callable[[], str] | None = None,
    out: TextIO | None = None,
    echo: bool | None = None,
) -> None:
    """Run one terminal conversation until the report ends or input runs out."""
    out = out or sys.stdout
    read_line = read_line or sys.stdin.readline
    echo = (not sys.stdin.isatty()) if echo is None else echo
    sender = TerminalSender(out)
    courier = runtime.add_platform(Platform.TERMINAL, sender, sender, start=False)
    person = local_person()

    async def say(turn: Turn) -> None:
        for reply in await runtime.engine.handle(turn):  # what could not be stored
            out.write(render(complete(reply)) + "\n\n")
        await courier.drain()

    await runtime.reminders.check()  # the operator is the leadership channel here
    await say(Turn(person, action="start", address={"tty": "local"}))
    lines = _LineReader(read_line)
    while True:
        out.write("> ")
        out.flush()
        line = await lines.next()
        if not line:
            out.write("\n" + await _goodbye(runtime, person) + "\n")
            return
        if echo:
            out.write(line.rstrip("\n") + "\n")
        await say(Turn(person, text=line.strip(), address={"tty": "local"}))
        if await runtime.store.conversation(person.key) is None:
            return
